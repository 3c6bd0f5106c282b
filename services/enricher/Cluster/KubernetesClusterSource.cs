using Egressd.Shared.Cluster;
using Egressd.Shared.Kubernetes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace Egressd.Enricher.Cluster;

/// <summary>Watches pods, nodes, services, ReplicaSets and Jobs into the cluster state.</summary>
internal sealed partial class KubernetesClusterSource(
    ClusterState state,
    ClusterContext context,
    IOptions<KubernetesOptions> options,
    TimeProvider time,
    ILoggerFactory loggers) : BackgroundService
{
    public static readonly string[] Resources = ["pods", "nodes", "services", "replicasets", "jobs"];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (context.Source != ClusterContextSource.Kubernetes)
        {
            return;
        }

        var settings = options.Value;
        using var client = new Kubernetes(settings.ClientConfiguration());
        var logger = loggers.CreateLogger("Egressd.Kubernetes");
        LogWatching(logger, client.BaseUri);
        // The API server ends each watch after this long; a spread keeps a fleet's watches from restarting together.
        int WatchTimeout() => 300 + Random.Shared.Next(300);

        var pods = new Reflector<V1Pod, PodInfo>(
            "pods",
            new KubernetesClientSource<V1Pod, V1PodList>(
                (next, limit, ct) => client.CoreV1.ListPodForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: ct),
                (rv, onError, ct) => client.CoreV1.WatchListPodForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchTimeout(), onError: onError, cancellationToken: ct)),
            KubernetesObjects.Pod,
            new Handler<PodInfo>(state.UpsertPod, state.DeletePod, () => state.MarkSynced("pods")),
            settings, time, logger);
        var nodes = new Reflector<V1Node, NodeInfo>(
            "nodes",
            new KubernetesClientSource<V1Node, V1NodeList>(
                (next, limit, ct) => client.CoreV1.ListNodeAsync(continueParameter: next, limit: limit, cancellationToken: ct),
                (rv, onError, ct) => client.CoreV1.WatchListNodeAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchTimeout(), onError: onError, cancellationToken: ct)),
            KubernetesObjects.Node,
            new Handler<NodeInfo>(state.UpsertNode, state.DeleteNode, () => state.MarkSynced("nodes")),
            settings, time, logger);
        var services = new Reflector<V1Service, ServiceInfo>(
            "services",
            new KubernetesClientSource<V1Service, V1ServiceList>(
                (next, limit, ct) => client.CoreV1.ListServiceForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: ct),
                (rv, onError, ct) => client.CoreV1.WatchListServiceForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchTimeout(), onError: onError, cancellationToken: ct)),
            KubernetesObjects.Service,
            new Handler<ServiceInfo>(state.UpsertService, state.DeleteService, () => state.MarkSynced("services")),
            settings, time, logger);
        var replicaSets = new Reflector<V1ReplicaSet, OwnerInfo>(
            "replicasets",
            new KubernetesClientSource<V1ReplicaSet, V1ReplicaSetList>(
                (next, limit, ct) => client.AppsV1.ListReplicaSetForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: ct),
                (rv, onError, ct) => client.AppsV1.WatchListReplicaSetForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchTimeout(), onError: onError, cancellationToken: ct)),
            rs => KubernetesObjects.Owner(rs.Metadata),
            new Handler<OwnerInfo>(state.UpsertReplicaSet, state.DeleteReplicaSet, () => state.MarkSynced("replicasets")),
            settings, time, logger);
        var jobs = new Reflector<V1Job, OwnerInfo>(
            "jobs",
            new KubernetesClientSource<V1Job, V1JobList>(
                (next, limit, ct) => client.BatchV1.ListJobForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: ct),
                (rv, onError, ct) => client.BatchV1.WatchListJobForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: WatchTimeout(), onError: onError, cancellationToken: ct)),
            job => KubernetesObjects.Owner(job.Metadata),
            new Handler<OwnerInfo>(state.UpsertJob, state.DeleteJob, () => state.MarkSynced("jobs")),
            settings, time, logger);

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
