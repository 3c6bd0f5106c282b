using Egressd.Shared.Cluster;
using Egressd.Shared.Kubernetes;
using Microsoft.Extensions.Options;

namespace Egressd.Enricher.Cluster;

/// <summary>Watches pods, nodes, services, ReplicaSets and Jobs into the cluster state.</summary>
internal sealed partial class KubernetesClusterSource(
    ClusterState state,
    ClusterContext context,
    IOptions<KubernetesOptions> options,
    TimeProvider time,
    ILoggerFactory loggers,
    KubernetesMetrics metrics) : BackgroundService
{
    public static readonly string[] Resources = ["pods", "nodes", "services", "replicasets", "jobs"];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (context.Source != ClusterContextSource.Kubernetes)
        {
            return;
        }

        var settings = options.Value;
        using var api = ApiServer.Connect(settings, time);
        var logger = loggers.CreateLogger("Egressd.Kubernetes");
        LogWatching(logger, api.BaseUri);
        var json = ApiJsonContext.Default;

        var pods = new Reflector<PodObject, PodInfo>(
            "pods",
            new ApiServerSource<PodObject>(api, "api/v1/pods", null, json.ApiListPodObject, json.PodObject),
            KubernetesObjects.Pod,
            new Handler<PodInfo>(state.UpsertPod, state.DeletePod, () => state.MarkSynced("pods")),
            settings, time, logger, metrics);
        var nodes = new Reflector<NodeObject, NodeInfo>(
            "nodes",
            new ApiServerSource<NodeObject>(api, "api/v1/nodes", null, json.ApiListNodeObject, json.NodeObject),
            KubernetesObjects.Node,
            new Handler<NodeInfo>(state.UpsertNode, state.DeleteNode, () => state.MarkSynced("nodes")),
            settings, time, logger, metrics);
        var services = new Reflector<ServiceObject, ServiceInfo>(
            "services",
            new ApiServerSource<ServiceObject>(api, "api/v1/services", null, json.ApiListServiceObject, json.ServiceObject),
            KubernetesObjects.Service,
            new Handler<ServiceInfo>(state.UpsertService, state.DeleteService, () => state.MarkSynced("services")),
            settings, time, logger, metrics);
        var replicaSets = new Reflector<MetadataObject, OwnerInfo>(
            "replicasets",
            new ApiServerSource<MetadataObject>(api, "apis/apps/v1/replicasets", null, json.ApiListMetadataObject, json.MetadataObject),
            KubernetesObjects.Owner,
            new Handler<OwnerInfo>(state.UpsertReplicaSet, state.DeleteReplicaSet, () => state.MarkSynced("replicasets")),
            settings, time, logger, metrics);
        var jobs = new Reflector<MetadataObject, OwnerInfo>(
            "jobs",
            new ApiServerSource<MetadataObject>(api, "apis/batch/v1/jobs", null, json.ApiListMetadataObject, json.MetadataObject),
            KubernetesObjects.Owner,
            new Handler<OwnerInfo>(state.UpsertJob, state.DeleteJob, () => state.MarkSynced("jobs")),
            settings, time, logger, metrics);

        await Task.WhenAll(
            pods.RunAsync(stoppingToken),
            nodes.RunAsync(stoppingToken),
            services.RunAsync(stoppingToken),
            replicaSets.RunAsync(stoppingToken),
            jobs.RunAsync(stoppingToken));
    }

    private sealed class Handler<TSlim>(Action<string, TSlim> upsert, Action<string> delete, Action synced) : IReflectorHandler<TSlim>
        where TSlim : class
    {
        public void OnUpsert(string key, TSlim? previous, TSlim current) => upsert(key, current);

        public void OnDelete(string key, TSlim previous) => delete(key);

        public void OnSynced() => synced();
    }

    [LoggerMessage(EventId = 1110, Level = LogLevel.Information, Message = "Watching pods, nodes, services, ReplicaSets and Jobs at {Server}")]
    private static partial void LogWatching(ILogger logger, Uri server);
}
