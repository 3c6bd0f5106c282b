using System.Net;
using Egressd.Collector.Pods;
using Egressd.Contracts;
using Egressd.Shared.Kubernetes;
using Egressd.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Egressd.Tests.Collector;

/// <summary>The collector's view of its node's pods: a field-selected watch on the fake API server.</summary>
public sealed class LocalPodsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Only_this_nodes_pods_count_and_deleted_ones_for_their_retention()
    {
        TestContext.Current.TestOutputHelper?.WriteLine("Kubernetes: the in-process fake API server (no real cluster is used by these tests)");
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Apply(FakeKubernetesApi.Pod("shop", "web", "node-a", ["10.244.1.10", "fd00::a"]));
        api.Apply(FakeKubernetesApi.Pod("shop", "db", "node-b", ["10.244.2.20"]));
        api.Apply(FakeKubernetesApi.Pod("kube-system", "dns", "node-a", ["10.244.1.53"]));
        api.Apply(FakeKubernetesApi.Pod("mon", "exporter", "node-a", ["10.0.0.1"], hostNetwork: true));
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var metrics = TestMetrics.Kubernetes();
        var pods = new KubernetesLocalPods("node-a", ["kube-system"], new KubernetesOptions { Kubeconfig = api.Kubeconfig, DeletedPodRetention = TimeSpan.FromMinutes(2) }, clock, NullLogger.Instance, metrics);
        using var stop = new CancellationTokenSource();
        var running = pods.RunAsync(stop.Token);

        await pods.WaitUntilReadyAsync(TestContext.Current.CancellationToken).WaitAsync(Patience, TestContext.Current.CancellationToken);
        Assert.True(pods.Contains(IpAddr.Parse("10.244.1.10")));
        Assert.True(pods.Contains(IpAddr.Parse("fd00::a")));
        Assert.False(pods.Contains(IpAddr.Parse("10.244.2.20")));
        Assert.False(pods.Contains(IpAddr.Parse("10.244.1.53")));
        Assert.False(pods.Contains(IpAddr.Parse("10.0.0.1")));
        // From a kubeconfig the official client authenticates: its user's token is on every request.
        Assert.All(api.Authorizations, header => Assert.Equal("Bearer fake-token", header));

        api.Apply(FakeKubernetesApi.Pod("shop", "new", "node-a", ["10.244.1.11"]));
        Assert.True(await Eventually.TrueAsync(() => pods.Contains(IpAddr.Parse("10.244.1.11")), Patience));
        var held = metrics.Objects.WithLabels("node-pods").Value;
        api.Delete("Pod", "shop", "web");
        // The watch has applied the deletion once the cache holds one object fewer.
        Assert.True(await Eventually.TrueAsync(() => metrics.Objects.WithLabels("node-pods").Value == held - 1, Patience));
        Assert.True(pods.Contains(IpAddr.Parse("10.244.1.10")), "a deleted pod counts for its retention");
        clock.Advance(TimeSpan.FromMinutes(2.5));
        Assert.True(await Eventually.TrueAsync(() => !pods.Contains(IpAddr.Parse("10.244.1.10")), Patience));

        await stop.CancelAsync();
        await running.WaitAsync(Patience, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task HostNetwork_pods_are_known_by_the_uid_their_cgroup_carries_a_static_pod_by_its_mirrors_config_hash()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var agent = FakeKubernetesApi.Pod("mon", "agent-x7k2p", "node-a", ["192.168.5.10"], hostNetwork: true);
        agent.Metadata.Uid = "1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10";
        var mirror = FakeKubernetesApi.Pod("infra", "etcd-node-a", "node-a", ["192.168.5.10"], hostNetwork: true);
        mirror.Metadata.Uid = "0d4c2b1a-9f8e-4d7c-b6a5-e4f3d2c1b0a9";
        mirror.Metadata.Annotations = new Dictionary<string, string> { ["kubernetes.io/config.mirror"] = "6b3f9c0e2d7a41f8a5c4e9b1d0f27a63" };
        var excluded = FakeKubernetesApi.Pod("kube-system", "kube-proxy-abcde", "node-a", ["192.168.5.10"], hostNetwork: true);
        excluded.Metadata.Uid = "77777777-0000-4000-8000-000000000001";
        api.Apply(agent);
        api.Apply(mirror);
        api.Apply(excluded);
        api.Apply(FakeKubernetesApi.Pod("shop", "web", "node-a", ["10.244.1.10"]));
        var pods = new KubernetesLocalPods("node-a", ["kube-system"], new KubernetesOptions { Kubeconfig = api.Kubeconfig }, TimeProvider.System, NullLogger.Instance, TestMetrics.Kubernetes());
        using var stop = new CancellationTokenSource();
        var running = pods.RunAsync(stop.Token);
        await pods.WaitUntilReadyAsync(TestContext.Current.CancellationToken).WaitAsync(Patience, TestContext.Current.CancellationToken);

        Assert.True(pods.IsNodeAddress(IpAddr.Parse("192.168.5.10")));
        Assert.False(pods.IsNodeAddress(IpAddr.Parse("10.244.1.10")));
        Assert.False(pods.Contains(IpAddr.Parse("192.168.5.10")));
        Assert.True(pods.TryGetHostNetworkPod("1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10", out var byUid));
        Assert.Equal("mon/agent-x7k2p", byUid);
        Assert.True(pods.TryGetHostNetworkPod("6b3f9c0e2d7a41f8a5c4e9b1d0f27a63", out var byHash));
        Assert.Equal("infra/etcd-node-a", byHash);
        // Known, but of an excluded namespace: not reported.
        Assert.True(pods.TryGetHostNetworkPod("77777777-0000-4000-8000-000000000001", out var hidden));
        Assert.Null(hidden);
        Assert.False(pods.TryGetHostNetworkPod("0d4c2b1a-9f8e-4d7c-b6a5-e4f3d2c1b0a9", out _));

        await stop.CancelAsync();
        await running.WaitAsync(Patience, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Collector_with_the_kubernetes_filter_reports_flows_of_its_nodes_pods_only()
    {
        using var lab = new NetnsLab();
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Apply(FakeKubernetesApi.Pod("shop", "web-a", lab.Node, [NetnsLab.V4("a"), NetnsLab.V6("a")]));
        api.Apply(FakeKubernetesApi.Pod("shop", "db-c", "other-node", [NetnsLab.V4("c")]));
        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, "00:00:00.250", new Dictionary<string, string?>
        {
            ["Egressd:ClusterContext:Source"] = "Kubernetes",
            ["Egressd:Inventory:File"] = null,
            ["Egressd:Kubernetes:Kubeconfig"] = api.Kubeconfig,
        });
        await using var _ = host;

        var port = await Traffic.TcpExchangeAsync(lab, "a", "c", IPAddress.Parse(NetnsLab.V4("c")), 8080, 8080, upload: 20_000, download: 40_000);
        var kernel = lab.KernelCounters("-p", "tcp", "--orig-src", NetnsLab.V4("a"), "--sport", port.ToString());
        var key = new NetfilterCollectorTests.FlowKey(NetnsLab.V4("a"), NetnsLab.V4("c"), null, 6);
        Assert.True(await Eventually.TrueAsync(
            () => NetfilterCollectorTests.Totals(flowLog, lab.Node).GetValueOrDefault(key) == (kernel.OrigBytes, kernel.ReplyBytes, kernel.OrigPackets, kernel.ReplyPackets),
            Patience));
        var lines = FlowLogFile.Read(flowLog, lab.Node);
        Assert.All(lines, l => Assert.Equal(NetnsLab.V4("a"), l.SrcIp));
        // The enricher, on the same API, names both ends.
        Assert.Contains(lines, l => l.SrcPod == "web-a" && l.DstPod == "db-c");
    }
}
