using Egressd.Contracts;
using Egressd.Shared.Kubernetes;

namespace Egressd.Collector.Pods;

/// <summary>
/// The pods of this node from a watch with the field selector spec.nodeName=NODE, read through
/// <see cref="ApiServer"/> into <see cref="PodObject"/> (the official client's typed models and setup
/// would cost every node's collector more memory than the watch itself). Deleted pods
/// count for the retention time (their conntrack entries outlive them); hostNetwork pods and
/// excluded namespaces never count as pods; hostNetwork pods' addresses are the node's, and they
/// are known by uid for the sockets they open (<see cref="TryGetHostNetworkPod"/>). Reads see an immutable set swapped on each change.
/// </summary>
internal sealed partial class KubernetesLocalPods : ILocalPods, IReflectorHandler<KubernetesLocalPods.LocalPod>
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, LocalPod> live = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (LocalPod Pod, DateTimeOffset Deleted)> deleted = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string node;
    private readonly IReadOnlyCollection<string> excluded;
    private readonly KubernetesOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly KubernetesMetrics metrics;
    private readonly ServiceAccount? account;
    private HashSet<IpAddr> addresses = [];
    private HashSet<IpAddr> nodeAddresses = [];
    private Dictionary<string, string?> hostNetworkPods = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="account">The service account to use instead of the pod's own (tests).</param>
    public KubernetesLocalPods(string node, IReadOnlyCollection<string> excluded, KubernetesOptions options, TimeProvider time, ILogger logger, KubernetesMetrics metrics, ServiceAccount? account = null)
    {
        this.account = account;
        this.node = node;
        this.excluded = excluded;
        this.options = options;
        this.time = time;
        this.logger = logger;
        this.metrics = metrics;
    }

    public string Description => $"Kubernetes pods with spec.nodeName={node} (excluding namespaces {string.Join(", ", excluded)}; hostNetwork pods never count)";

    public bool IsReady => synced.Task.IsCompleted;

    public bool Contains(IpAddr address)
    {
        return Volatile.Read(ref addresses).Contains(address);
    }

    public bool IsNodeAddress(IpAddr address) => Volatile.Read(ref nodeAddresses).Contains(address);

    public bool TryGetHostNetworkPod(string uid, out string? pod) => Volatile.Read(ref hostNetworkPods).TryGetValue(uid, out pod);

    public Task WaitUntilReadyAsync(CancellationToken cancellationToken) => synced.Task.WaitAsync(cancellationToken);

    /// <summary>Lists and watches this node's pods until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var api = ApiServer.Connect(options, time, account);
        var reflector = new Reflector<PodObject, LocalPod>(
            "node-pods",
            new ApiServerSource<PodObject>(api, "api/v1/pods", $"spec.nodeName={node}", ApiJsonContext.Default.ApiListPodObject, ApiJsonContext.Default.PodObject),
            pod => new LocalPod(
                pod.Metadata?.Namespace ?? "",
                pod.Metadata?.Name ?? "",
                pod.Metadata?.Annotations?.GetValueOrDefault(MirrorAnnotation) ?? pod.Metadata?.Uid ?? "",
                pod.Spec?.HostNetwork ?? false,
                [.. (pod.Status?.PodIPs?.Select(p => p.Ip) ?? [pod.Status?.PodIP]).Where(ip => System.Net.IPAddress.TryParse(ip, out _)).Select(ip => IpAddr.Parse(ip!))]),
            this,
            options,
            time,
            logger,
            metrics);
        using var expiry = time.CreateTimer(_ => Rebuild(), null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        await reflector.RunAsync(cancellationToken);
    }

    public void OnUpsert(string key, LocalPod? previous, LocalPod current)
    {
        lock (gate)
        {
            live[key] = current;
            deleted.Remove(key);
        }

        Rebuild();
    }

    public void OnDelete(string key, LocalPod previous)
    {
        lock (gate)
        {
            live.Remove(key);
            deleted[key] = (previous, time.GetUtcNow());
        }

        Rebuild();
    }

    public void OnSynced()
    {
        Rebuild();
        synced.TrySetResult();
    }

    private void Rebuild()
    {
        var now = time.GetUtcNow();
        lock (gate)
        {
            foreach (var (key, (_, at)) in deleted)
            {
                if (now - at >= options.DeletedPodRetention)
                {
                    deleted.Remove(key);
                }
            }

            HashSet<IpAddr> next = [];
            HashSet<IpAddr> node = [];
            Dictionary<string, string?> hostPods = new(StringComparer.OrdinalIgnoreCase);
            foreach (var pod in live.Values.Concat(deleted.Values.Select(d => d.Pod)))
            {
                if (pod.HostNetwork)
                {
                    node.UnionWith(pod.Ips);
                    hostPods.TryAdd(pod.CgroupUid, excluded.Contains(pod.Namespace) ? null : $"{pod.Namespace}/{pod.Name}");
                }
                else if (!excluded.Contains(pod.Namespace))
                {
                    next.UnionWith(pod.Ips);
                }
            }

            Volatile.Write(ref addresses, next);
            Volatile.Write(ref nodeAddresses, node);
            Volatile.Write(ref hostNetworkPods, hostPods);
        }
    }

    /// <summary>A static pod's mirror carries the uid the kubelet runs it under (its config hash) here.</summary>
    private const string MirrorAnnotation = "kubernetes.io/config.mirror";

    /// <param name="CgroupUid">The uid its cgroup is named after: a mirror pod's static pod's, else its own.</param>
    internal sealed record LocalPod(string Namespace, string Name, string CgroupUid, bool HostNetwork, IReadOnlyList<IpAddr> Ips);
}
