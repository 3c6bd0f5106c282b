using Egressd.Contracts;
using Egressd.Enricher.Cluster;
using Egressd.Enricher.Enrichment;
using Egressd.Shared.Cluster;
using Egressd.Shared.Kubernetes;
using Egressd.Tests.Infrastructure;
using Egressd.Tests.Samples;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Egressd.Tests.Enricher;

/// <summary>
/// The enricher's Kubernetes caches against the in-process fake API server, through the real
/// KubernetesClient: every field, add/modify/delete, 410 and relist, restarts, stalls, retention.
/// </summary>
public sealed class ClusterCacheTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly CancellationTokenSource stop = new();
    private FakeKubernetesApi api = null!;
    private Task running = Task.CompletedTask;

    private FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    private ClusterState State { get; set; } = null!;

    public async ValueTask InitializeAsync()
    {
        TestContext.Current.TestOutputHelper?.WriteLine("Kubernetes: the in-process fake API server (no real cluster is used by these tests)");
        api = await FakeKubernetesApi.StartAsync();
        api.Apply(FakeKubernetesApi.Node("node-a", "zone-a", "region-1", "10.0.0.1"));
        api.Apply(FakeKubernetesApi.Node("node-b", "zone-b", "region-1", "10.0.0.2", legacyLabels: true));
        api.Apply(FakeKubernetesApi.Node("node-c", "zone-c", "region-2", "10.0.0.3"));
        api.Apply(FakeKubernetesApi.Node("node-d", "zone-b", "region-1", "10.0.0.4"));
        api.Apply(FakeKubernetesApi.ReplicaSet("shop", "web-7d9f", "web"));
        api.Apply(FakeKubernetesApi.Job("ops", "backup-2901", "backup"));
        api.Apply(FakeKubernetesApi.Job("ops", "migrate", null));
        api.Apply(FakeKubernetesApi.Pod("shop", "web-7d9f-x1", "node-a", ["10.244.1.10", "fd00:10:244:1::a"], "ReplicaSet", "web-7d9f"));
        api.Apply(FakeKubernetesApi.Pod("shop", "db-0", "node-b", ["10.244.2.20"], "StatefulSet", "db"));
        api.Apply(FakeKubernetesApi.Pod("mon", "agent-q", "node-c", ["10.244.3.30"], "DaemonSet", "agent"));
        api.Apply(FakeKubernetesApi.Pod("ops", "backup-2901-z", "node-a", ["10.244.1.40"], "Job", "backup-2901"));
        api.Apply(FakeKubernetesApi.Pod("ops", "migrate-k", "node-a", ["10.244.1.41"], "Job", "migrate"));
        api.Apply(FakeKubernetesApi.Pod("default", "debug", "node-d", ["10.244.2.50"]));
        api.Apply(FakeKubernetesApi.Pod("kube-system", "proxy-a", "node-a", ["10.0.0.1"], "DaemonSet", "kube-proxy", hostNetwork: true));
        api.Apply(FakeKubernetesApi.Service("shop", "db", "10.96.0.15", "fd00:96::15"));
        State = await StartAsync(api, Clock, t => running = t, stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(10));
        await api.DisposeAsync();
        stop.Dispose();
    }

    [Fact]
    public void Every_field_for_pods_nodes_services_and_each_workload_kind()
    {
        var cluster = State.Snapshot();
        Assert.Equal(new FlowEndpoint { Pod = "web-7d9f-x1", Namespace = "shop", Node = "node-a", Zone = "zone-a", Region = "region-1", WorkloadKind = "Deployment", WorkloadName = "web" }, cluster.Pods[IpAddr.Parse("10.244.1.10")]);
        Assert.Same(cluster.Pods[IpAddr.Parse("10.244.1.10")], cluster.Pods[IpAddr.Parse("fd00:10:244:1::a")]);
        // Legacy failure-domain labels stand in for the topology ones.
        Assert.Equal(new FlowEndpoint { Pod = "db-0", Namespace = "shop", Node = "node-b", Zone = "zone-b", Region = "region-1", WorkloadKind = "StatefulSet", WorkloadName = "db" }, cluster.Pods[IpAddr.Parse("10.244.2.20")]);
        Assert.Equal(("DaemonSet", "agent", "region-2"), (cluster.Pods[IpAddr.Parse("10.244.3.30")].WorkloadKind, cluster.Pods[IpAddr.Parse("10.244.3.30")].WorkloadName, cluster.Pods[IpAddr.Parse("10.244.3.30")].Region));
        Assert.Equal(("CronJob", "backup"), (cluster.Pods[IpAddr.Parse("10.244.1.40")].WorkloadKind, cluster.Pods[IpAddr.Parse("10.244.1.40")].WorkloadName));
        Assert.Equal(("Job", "migrate"), (cluster.Pods[IpAddr.Parse("10.244.1.41")].WorkloadKind, cluster.Pods[IpAddr.Parse("10.244.1.41")].WorkloadName));
        Assert.Equal(("Pod", "debug"), (cluster.Pods[IpAddr.Parse("10.244.2.50")].WorkloadKind, cluster.Pods[IpAddr.Parse("10.244.2.50")].WorkloadName));
        // A hostNetwork pod's address is its node's.
        Assert.Equal(new FlowEndpoint { Node = "node-a", Zone = "zone-a", Region = "region-1" }, cluster.Nodes[IpAddr.Parse("10.0.0.1")]);
        Assert.False(cluster.Pods.ContainsKey(IpAddr.Parse("10.0.0.1")));
        Assert.Equal("shop/db", cluster.Services[IpAddr.Parse("10.96.0.15")]);
        Assert.Equal("shop/db", cluster.Services[IpAddr.Parse("fd00:96::15")]);

        var enricher = new FlowEnricher(new TrafficClassifier(new Shared.Network.NetworkOptions().PublicAddresses(), []), 1000, new DnsNameMap(100_000, TestMetrics.Enricher()));
        var enriched = enricher.Enrich(Batch(
            ("10.244.1.10", "10.244.2.20", "10.96.0.15"),
            ("10.244.1.10", "10.244.1.40", null),
            ("10.244.1.10", "10.244.3.30", null),
            ("10.244.2.50", "10.244.2.20", null),
            ("10.244.1.10", "198.18.7.9", null),
            ("10.244.1.10", "172.20.0.9", null),
            ("10.0.0.1", "10.244.2.20", null),
            ("10.9.9.9", "10.244.2.20", null)), cluster, new EnrichmentStats());
        var f = EnrichedRows.Rows(enriched);
        Assert.Equal(("shop/db", TrafficClass.CrossZone), (f[0].DestinationService, f[0].TrafficClass));
        Assert.Equal("db-0", f[0].Destination.Pod);
        Assert.Equal(TrafficClass.SameNode, f[1].TrafficClass);
        Assert.Equal(TrafficClass.CrossRegion, f[2].TrafficClass);
        Assert.Equal(TrafficClass.SameZone, f[3].TrafficClass);
        Assert.Equal((TrafficClass.Internet, "api.example.com"), (f[4].TrafficClass, f[4].DestinationDnsName));
        Assert.Equal(TrafficClass.PrivateExternal, f[5].TrafficClass);
        Assert.Equal(("node-a", null), (f[6].Source.Node, f[6].Source.Pod));
        Assert.Equal((null, TrafficClass.Unknown), (f[7].Source.Pod, f[7].TrafficClass));
    }

    [Fact]
    public async Task Added_modified_and_deleted_objects_update_the_caches()
    {
        api.Apply(FakeKubernetesApi.Pod("shop", "web-7d9f-x2", "node-c", ["10.244.3.11"], "ReplicaSet", "web-7d9f"));
        api.Apply(FakeKubernetesApi.Node("node-a", "zone-z", "region-1", "10.0.0.1"));
        api.Apply(FakeKubernetesApi.Service("shop", "cache", "10.96.0.77"));
        api.Delete("Service", "shop", "db");
        Assert.True(await Eventually.TrueAsync(() =>
        {
            var c = State.Snapshot();
            return c.Pods.TryGetValue(IpAddr.Parse("10.244.3.11"), out var p) && p.Zone == "zone-c"
                && c.Pods[IpAddr.Parse("10.244.1.10")].Zone == "zone-z"
                && c.Services.ContainsKey(IpAddr.Parse("10.96.0.77")) && !c.Services.ContainsKey(IpAddr.Parse("10.96.0.15"));
        }, Patience));

        api.Delete("Pod", "shop", "web-7d9f-x2");
        api.Apply(FakeKubernetesApi.Pod("shop", "db-0", "node-b", ["10.244.2.21"], "StatefulSet", "db"));
        Assert.True(await Eventually.TrueAsync(() => State.Snapshot().Pods.TryGetValue(IpAddr.Parse("10.244.2.21"), out var p) && p.Pod == "db-0", Patience));
        // The pod's old address went with the change; the deleted pod is still resolvable for now.
        Assert.False(State.Snapshot().Pods.ContainsKey(IpAddr.Parse("10.244.2.20")));
        Assert.True(State.Snapshot().Pods.ContainsKey(IpAddr.Parse("10.244.3.11")));
    }

    [Fact]
    public async Task Gone_410_relists_and_objects_deleted_in_the_gap_are_seen_deleted()
    {
        var lists = api.ListRequests;
        api.ChangeInAGap(server =>
        {
            server.Delete("Pod", "default", "debug");
            server.Delete("Service", "shop", "db");
            server.Apply(FakeKubernetesApi.Pod("shop", "late", "node-b", ["10.244.2.60"]));
        });
        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.True(await Eventually.TrueAsync(() =>
        {
            var c = State.Snapshot();
            return c.Pods.ContainsKey(IpAddr.Parse("10.244.2.60")) && !c.Services.ContainsKey(IpAddr.Parse("10.96.0.15"));
        }, Patience));
        Assert.True(api.ListRequests > lists, "no relist after 410");
        // Deleted in the gap, so deleted here too (and past its retention on the fake clock by now).
        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.False(State.Snapshot().Pods.ContainsKey(IpAddr.Parse("10.244.2.50")));
    }

    [Fact]
    public async Task Watch_resumes_after_the_api_server_restarts_and_after_dropped_connections()
    {
        await api.RestartAsync();
        api.Apply(FakeKubernetesApi.Pod("shop", "after-restart", "node-a", ["10.244.1.70"]));
        Assert.True(await Eventually.TrueAsync(() => State.Snapshot().Pods.ContainsKey(IpAddr.Parse("10.244.1.70")), Patience));

        var lists = api.ListRequests;
        api.DropWatches();
        api.Apply(FakeKubernetesApi.Pod("shop", "after-drop", "node-a", ["10.244.1.71"]));
        Assert.True(await Eventually.TrueAsync(() => State.Snapshot().Pods.ContainsKey(IpAddr.Parse("10.244.1.71")), Patience));
        // Resumed from its resourceVersion: no relist was needed.
        Assert.Equal(lists, api.ListRequests);
    }

    [Fact]
    public async Task Stalled_stream_is_restarted_by_the_watchdog()
    {
        var watches = api.WatchRequests;
        api.StallWatches();
        api.Apply(FakeKubernetesApi.Pod("shop", "behind-a-stall", "node-a", ["10.244.1.80"]));
        Assert.True(await Eventually.TrueAsync(() => State.Snapshot().Pods.ContainsKey(IpAddr.Parse("10.244.1.80")), Patience));
        Assert.True(api.WatchRequests > watches);
    }

    [Fact]
    public async Task Deleted_pod_resolves_for_two_minutes_then_not()
    {
        api.Delete("Pod", "shop", "db-0");
        // A pod applied after the delete arrives after it on the same watch: once it is seen,
        // the delete has been, at the clock's current time.
        api.Apply(FakeKubernetesApi.Pod("shop", "after-delete", "node-b", ["10.244.2.99"]));
        Assert.True(await Eventually.TrueAsync(() => State.Snapshot().Pods.ContainsKey(IpAddr.Parse("10.244.2.99")), Patience));
        Assert.True(await Eventually.TrueAsync(() => State.Snapshot().Pods[IpAddr.Parse("10.244.2.20")].Pod == "db-0", Patience));
        Clock.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal("db-0", State.Snapshot().Pods[IpAddr.Parse("10.244.2.20")].Pod);
        Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(State.Snapshot().Pods.ContainsKey(IpAddr.Parse("10.244.2.20")));
    }

    [Fact]
    public async Task Two_pods_with_one_address_resolve_to_the_live_and_earliest_created()
    {
        api.Apply(FakeKubernetesApi.Pod("a", "older", "node-a", ["10.244.9.9"], created: DateTime.UtcNow.AddHours(-2)));
        api.Apply(FakeKubernetesApi.Pod("a", "newer", "node-a", ["10.244.9.9"], created: DateTime.UtcNow.AddHours(-1)));
        Assert.True(await Eventually.TrueAsync(() => State.Snapshot().Pods.TryGetValue(IpAddr.Parse("10.244.9.9"), out var p) && p.Pod == "older", Patience));
        api.Delete("Pod", "a", "older");
        Assert.True(await Eventually.TrueAsync(() => State.Snapshot().Pods[IpAddr.Parse("10.244.9.9")].Pod == "newer", Patience));
    }

    internal static async Task<ClusterState> StartAsync(FakeKubernetesApi api, TimeProvider clock, Action<Task> running, CancellationToken stop, Shared.Cost.NodePlacementResolver? placements = null)
    {
        var state = new ClusterState(clock, TimeSpan.FromMinutes(2), placements);
        state.Require(KubernetesClusterSource.Resources);
        var kubernetes = Options.Create(new KubernetesOptions { Kubeconfig = api.Kubeconfig, WatchIdleTimeout = TimeSpan.FromSeconds(1.5), MaxBackoff = TimeSpan.FromMilliseconds(500), PageSize = 3 });
        var source = new KubernetesClusterSource(state, new ClusterContext(ClusterContextSource.Kubernetes, null), kubernetes, TimeProvider.System, NullLoggerFactory.Instance, TestMetrics.Kubernetes());
        await source.StartAsync(stop);
        running(source.ExecuteTask ?? Task.CompletedTask);
        await state.WaitForSyncAsync(stop).WaitAsync(Patience, stop);
        return state;
    }

    private static FlowBatchCollected Batch(params (string Src, string Dst, string? Original)[] flows) => new()
    {
        Header = new BatchHeader
        {
            Id = new BatchId { Node = "node-a", BootId = "b", Window = 1, Part = 0, PartCount = 1 },
            Node = "node-a",
            WindowStart = DateTimeOffset.UtcNow.AddSeconds(-5),
            WindowEnd = DateTimeOffset.UtcNow,
            Source = FlowSource.Netfilter,
        },
        Flows = [.. flows.Select(f => new FlowRecord { SourceIp = IpAddr.Parse(f.Src), DestinationIp = IpAddr.Parse(f.Dst), OriginalDestinationIp = f.Original is null ? null : IpAddr.Parse(f.Original), Protocol = 6, TxBytes = 10, RxBytes = 20, TxPackets = 1, RxPackets = 1 })],
        DnsAnswers = [new DnsAnswer { Ip = IpAddr.Parse("198.18.7.9"), Name = "api.example.com", ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(1) }],
    };
}
