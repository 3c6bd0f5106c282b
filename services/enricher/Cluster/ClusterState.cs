using System.Collections.Frozen;
using Egressd.Contracts;
using Egressd.Shared.Cost;

namespace Egressd.Enricher.Cluster;

/// <summary>
/// The enricher's picture of the cluster, fed by the Kubernetes reflectors or an inventory file,
/// read through immutable snapshots. Deleted pods stay resolvable for the retention time
/// (conntrack entries outlive pods). When addresses collide, a live pod wins over a deleted
/// one, and among those the earliest created wins (as in egressd).
/// <para>A snapshot costs time in proportion to the cluster (a few hundred milliseconds at 150,000
/// pods). Rebuilt on every change, a large cluster whose pods churn (tens of events a second) keeps
/// the enricher rebuilding instead of enriching, every consumer waiting on the rebuild. So a changed
/// state is rebuilt at most once per <see cref="RebuildSpacingFactor"/> times the last rebuild's
/// duration (never later than <see cref="MaxRebuildSpacing"/>), which keeps rebuilding under a fifth
/// of a core, and a consumer that finds another rebuilding takes the last snapshot rather than wait.
/// A small cluster rebuilds in a millisecond or two, so its snapshots stay as fresh as before.</para>
/// </summary>
internal sealed class ClusterState(TimeProvider time, TimeSpan deletedPodRetention, NodePlacementResolver? placements = null)
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, PodInfo> pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (PodInfo Pod, DateTimeOffset Deleted)> deletedPods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeInfo> nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ServiceInfo> services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OwnerInfo> replicaSets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OwnerInfo> jobs = new(StringComparer.Ordinal);
    private readonly HashSet<string> required = new(StringComparer.Ordinal);
    private readonly HashSet<string> syncedResources = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>A changed state waits at most this many times the last rebuild's duration to be rebuilt.</summary>
    public const int RebuildSpacingFactor = 4;

    /// <summary>The most a changed state waits to be rebuilt, however long the last rebuild took.</summary>
    public static readonly TimeSpan MaxRebuildSpacing = TimeSpan.FromSeconds(2);

    private volatile ClusterSnapshot snapshot = ClusterSnapshot.Empty;
    private volatile bool dirty = true;
    private DateTimeOffset nextExpiry = DateTimeOffset.MaxValue;
    private DateTimeOffset nextRebuild = DateTimeOffset.MinValue;

    public bool IsSynced => synced.Task.IsCompleted;

    /// <summary>Names the resources whose first sync makes the state ready.</summary>
    public void Require(params string[] resources)
    {
        lock (gate)
        {
            required.UnionWith(resources);
        }
    }

    public void MarkSynced(string resource)
    {
        lock (gate)
        {
            syncedResources.Add(resource);
            if (required.IsSubsetOf(syncedResources))
            {
                synced.TrySetResult();
            }
        }
    }

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => synced.Task.WaitAsync(cancellationToken);

    public void UpsertPod(string key, PodInfo pod) => Change(() =>
    {
        pods[key] = pod;
        deletedPods.Remove(key);
    });

    public void DeletePod(string key) => Change(() =>
    {
        if (pods.Remove(key, out var pod))
        {
            var now = time.GetUtcNow();
            deletedPods[key] = (pod, now);
            var expiry = now + deletedPodRetention;
            if (expiry < nextExpiry)
            {
                nextExpiry = expiry;
            }
        }
    });

    public void UpsertNode(string key, NodeInfo node) => Change(() => nodes[key] = node);

    public void DeleteNode(string key) => Change(() => nodes.Remove(key));

    public void UpsertService(string key, ServiceInfo service) => Change(() => services[key] = service);

    public void DeleteService(string key) => Change(() => services.Remove(key));

    public void UpsertReplicaSet(string key, OwnerInfo owner) => Change(() => replicaSets[key] = owner);

    public void DeleteReplicaSet(string key) => Change(() => replicaSets.Remove(key));

    public void UpsertJob(string key, OwnerInfo owner) => Change(() => jobs[key] = owner);

    public void DeleteJob(string key) => Change(() => jobs.Remove(key));

    /// <summary>Rebuilds of the snapshot so far (a change or a deleted pod's expiry made each).</summary>
    public long Rebuilds { get; private set; }

    /// <summary>
    /// The current snapshot, rebuilt when something changed or a deleted pod expired, and the spacing
    /// since the last rebuild has passed; while another consumer rebuilds it, the last one (the
    /// first snapshot is waited for).
    /// </summary>
    public ClusterSnapshot Snapshot()
    {
        var now = time.GetUtcNow();
        if (ReferenceEquals(snapshot, ClusterSnapshot.Empty))
        {
            // None built yet: the first waits for it (an empty view would attribute nothing).
            gate.Enter();
        }
        else if (!gate.TryEnter())
        {
            // A rebuild (or a change, which takes no time) is underway: the last snapshot serves.
            return snapshot;
        }

        try
        {
            if ((!dirty && now < nextExpiry) || (now < nextRebuild && !ReferenceEquals(snapshot, ClusterSnapshot.Empty)))
            {
                return snapshot;
            }

            var started = time.GetTimestamp();
            Expire(now);
            snapshot = Build();
            dirty = false;
            Rebuilds++;
            var took = time.GetElapsedTime(started);
            nextRebuild = now + TimeSpan.FromTicks(Math.Min(took.Ticks * RebuildSpacingFactor, MaxRebuildSpacing.Ticks));
            return snapshot;
        }
        finally
        {
            gate.Exit();
        }
    }

    private void Change(Action change)
    {
        lock (gate)
        {
            change();
            dirty = true;
        }
    }

    private void Expire(DateTimeOffset now)
    {
        nextExpiry = DateTimeOffset.MaxValue;
        foreach (var (key, (_, deleted)) in deletedPods)
        {
            var expiry = deleted + deletedPodRetention;
            if (expiry <= now)
            {
                deletedPods.Remove(key);
            }
            else if (expiry < nextExpiry)
            {
                nextExpiry = expiry;
            }
        }
    }

    private ClusterSnapshot Build()
    {
        // Equal names as one string object: the wire's encoder finds a batch's repeated texts
        // (namespaces, nodes, zones, workloads) by identity before it compares characters.
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        string? Shared(string? text) => text is null ? null
            : texts.TryGetValue(text, out var shared) ? shared
            : texts[text] = text;

        var nodeEndpoints = nodes.Values.ToDictionary(
            n => n.Name,
            n => new FlowEndpoint { Node = Shared(n.Name), Zone = Shared(n.Zone), Region = Shared(n.Region) },
            StringComparer.Ordinal);
        var nodesByIp = new Dictionary<IpAddr, FlowEndpoint>();
        foreach (var node in nodes.Values)
        {
            foreach (var ip in Parsed(node.Ips))
            {
                nodesByIp.TryAdd(ip, nodeEndpoints[node.Name]);
            }
        }

        // Live pods first, each group earliest created first: the first to claim an address keeps it.
        var candidates = pods.Values.OrderBy(p => p.Created)
            .Concat(deletedPods.Values.Select(d => d.Pod).OrderBy(p => p.Created));
        var podsByIp = new Dictionary<IpAddr, FlowEndpoint>();
        var hostNetworkPods = new Dictionary<string, FlowEndpoint>(StringComparer.Ordinal);
        foreach (var pod in candidates)
        {
            if (pod.HostNetwork)
            {
                // Its addresses are its node's: a flow is its only when the collector named it.
                hostNetworkPods.TryAdd($"{pod.Namespace}/{pod.Name}", Endpoint(pod, nodes, Shared));
                continue;
            }

            FlowEndpoint? endpoint = null;
            foreach (var ip in Parsed(pod.Ips))
            {
                if (!podsByIp.ContainsKey(ip))
                {
                    podsByIp[ip] = endpoint ??= Endpoint(pod, nodes, Shared);
                }
            }
        }

        var servicesByIp = new Dictionary<IpAddr, string>();
        foreach (var service in services.Values)
        {
            foreach (var ip in Parsed(service.ClusterIps))
            {
                servicesByIp.TryAdd(ip, $"{service.Namespace}/{service.Name}");
            }
        }

        FrozenDictionary<string, NodePlacement>? placed = null;
        NodePlacement? unknownNode = null;
        if (placements is not null)
        {
            placed = nodes.Values.ToFrozenDictionary(
                n => n.Name,
                n => placements.Resolve(n.ProviderId, n.Labels, n.ExternalIps, [.. Parsed(n.Ips)]),
                StringComparer.Ordinal);
            // Whether an unseen node has a public address is not known: it pays no NAT rather than a guessed one.
            unknownNode = placements.Resolve(null, null, null, null) with { BehindNat = false };
        }

        return new ClusterSnapshot(podsByIp.ToFrozenDictionary(), nodesByIp.ToFrozenDictionary(), servicesByIp.ToFrozenDictionary(), hostNetworkPods.ToFrozenDictionary(StringComparer.Ordinal), placed, unknownNode);
    }

    /// <summary>The addresses among Kubernetes' texts; others ("None" for a headless service's cluster IP) are no address.</summary>
    private static IEnumerable<IpAddr> Parsed(IEnumerable<string> texts)
    {
        foreach (var text in texts)
        {
            if (IpAddr.TryParse(text, out var address))
            {
                yield return address;
            }
        }
    }

    private FlowEndpoint Endpoint(PodInfo pod, Dictionary<string, NodeInfo> nodeIndex, Func<string?, string?> shared)
    {
        NodeInfo? node = pod.Node is not null && nodeIndex.TryGetValue(pod.Node, out var n) ? n : null;
        var (kind, name) = Workload(pod);
        return new FlowEndpoint
        {
            Pod = pod.Name,
            Namespace = shared(pod.Namespace),
            Node = shared(pod.Node),
            Zone = shared(node?.Zone),
            Region = shared(node?.Region),
            WorkloadKind = shared(kind),
            WorkloadName = shared(name),
        };
    }

    /// <summary>The top of the owner chain: ReplicaSet → Deployment, Job → CronJob, else the owner itself.</summary>
    private (string? Kind, string? Name) Workload(PodInfo pod)
    {
        switch (pod.OwnerKind)
        {
            case null:
                return ("Pod", pod.Name);
            case "ReplicaSet" when replicaSets.TryGetValue($"{pod.Namespace}/{pod.OwnerName}", out var rs) && rs.OwnerKind is not null:
                return (rs.OwnerKind, rs.OwnerName);
            case "Job" when jobs.TryGetValue($"{pod.Namespace}/{pod.OwnerName}", out var job) && job.OwnerKind is not null:
                return (job.OwnerKind, job.OwnerName);
            default:
                return (pod.OwnerKind, pod.OwnerName);
        }
    }
}
