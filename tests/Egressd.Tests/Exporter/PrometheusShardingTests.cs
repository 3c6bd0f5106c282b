using System.Net;
using Egressd.Exporter.Sinks.Prometheus.Sharding;
using Egressd.Shared.Bus;
using Egressd.Tests.Infrastructure;
using MassTransit;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary>The Prometheus sink split over two exporter processes on a real RabbitMQ (a broker of the test's own).</summary>
public sealed class PrometheusShardingTests
{
    private const int Shards = 8;
    private const int Nodes = 32;
    private const ulong BytesPerFlow = 1000;

    private static Dictionary<string, string?> ShardedSettings(PrivateBroker broker)
    {
        var settings = broker.BusSettings();
        settings["Egressd:Exporter:FlowLog:Enabled"] = "false";
        settings["Egressd:Exporter:Prometheus:Shards"] = Shards.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Egressd:Exporter:Prometheus:ShardTakeover"] = "00:00:04";
        return settings;
    }

    /// <summary>Waits until every replica is ready, has heard the others and holds its even share.</summary>
    private static async Task SplitEvenlyAsync(ServiceProcess[] replicas, string when)
    {
        foreach (var exporter in replicas)
        {
            await exporter.WaitUntilAsync("/readyz", HttpStatusCode.OK, TimeSpan.FromSeconds(60));
            var text = "";
            Assert.True(await Eventually.TrueAsync(async () =>
            {
                text = await exporter.GetStringAsync("/metrics");
                return Exposition.Value(text, "egressd_exporter_prometheus_replicas") == replicas.Length
                    && Exposition.Value(text, "egressd_exporter_prometheus_shards_held") == Shards / replicas.Length;
            }, TimeSpan.FromSeconds(120)), $"the replicas never split the shards {when}\n{text}\n{string.Join("\n", replicas.Select(r => r.Tail()))}");
        }
    }

    private static ServiceProcess StartReplica(string name, Dictionary<string, string?> settings) =>
        ServiceProcess.Start(name, Repo.ServiceDll("exporter", "Egressd.Exporter"), settings);

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Two_replicas_split_the_series_exactly_and_the_survivor_takes_the_share_of_one_killed()
    {
        await using var broker = await PrivateBroker.StartAsync("egressd-shard-rabbitmq-");
        var settings = ShardedSettings(broker);
        await using var first = StartReplica("exporter-1", settings);
        await using var second = StartReplica("exporter-2", settings);
        // Both have heard each other and hold half the shards each.
        await SplitEvenlyAsync([first, second], "at start");

        // Batches from many nodes, published as the enricher does (keyed by node).
        await using var publisher = await InProcessHost.StartAsync("egressd-enricher", b => b.AddEgressdBus(_ => { }), settings);
        var bus = publisher.Services.GetRequiredService<IBus>();
        var ns = "shard-" + Guid.NewGuid().ToString("N")[..8];
        var boot = Guid.NewGuid().ToString("N");
        async Task PublishWindowsAsync(int from, int to)
        {
            for (var window = from; window <= to; window++)
            {
                for (var node = 0; node < Nodes; node++)
                {
                    await bus.PublishAsync(Batch($"node-{node}", boot, window, PodFlow(ns, $"web-{node}", "db", "db-0", txBytes: BytesPerFlow)));
                }
            }
        }

        async Task<IReadOnlyList<PromSample>> SeriesAsync(ServiceProcess exporter) =>
            Exposition.Samples(await exporter.GetStringAsync("/metrics"), "egressd_transmit_bytes_total")
                .Where(s => s.Labels.GetValueOrDefault("src_namespace") == ns).ToList();

        await PublishWindowsAsync(1, 3);
        const double Phase1 = Nodes * 3 * BytesPerFlow;
        IReadOnlyList<PromSample> a = [], b = [];
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            (a, b) = (await SeriesAsync(first), await SeriesAsync(second));
            return a.Sum(s => s.Value) + b.Sum(s => s.Value) >= Phase1;
        }, TimeSpan.FromSeconds(60)), $"the batches were never all counted\n{first.Tail()}\n{second.Tail()}");

        // Exact, spread over both, and no series held by two replicas: each node's batches go to one shard.
        Assert.Equal(Phase1, a.Sum(s => s.Value) + b.Sum(s => s.Value));
        Assert.NotEmpty(a);
        Assert.NotEmpty(b);
        Assert.Empty(a.Select(s => s.Labels["src_pod"]).Intersect(b.Select(s => s.Labels["src_pod"])));
        Assert.Equal(Nodes, a.Count + b.Count);
        var secondBefore = b.Sum(s => s.Value);
        var firstBefore = a.Sum(s => s.Value);

        // One replica dies outright; what comes next, its shards included, is counted by the other.
        await second.KillAsync();
        await PublishWindowsAsync(4, 5);
        const double Phase2 = Nodes * 2 * BytesPerFlow;
        Assert.True(await Eventually.TrueAsync(async () => (await SeriesAsync(first)).Sum(s => s.Value) >= firstBefore + Phase2, TimeSpan.FromSeconds(60)),
            $"the survivor never took the killed replica's shards\n{first.Tail()}");
        var firstAfter = (await SeriesAsync(first)).Sum(s => s.Value);
        Assert.Equal(firstBefore + Phase2, firstAfter);
        Assert.Equal(Phase1 + Phase2, firstAfter + secondBefore);
        var metrics = await first.GetStringAsync("/metrics");
        Assert.Equal(Shards, Exposition.Value(metrics, "egressd_exporter_prometheus_shards_held"));
        Assert.Equal(1, Exposition.Value(metrics, "egressd_exporter_prometheus_replicas"));
        for (var shard = 0; shard < Shards; shard++)
        {
            Assert.Equal(0, await broker.MessageCountAsync(PrometheusShards.Queue(shard)));
            Assert.True(await broker.MessageCountAsync(PrometheusShards.Queue(shard) + "_error") <= 0, $"a batch of shard {shard} went to the error queue");
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task After_the_broker_is_killed_and_back_the_replicas_split_the_shards_again_and_count_exactly()
    {
        await using var broker = await PrivateBroker.StartAsync("egressd-shard-rabbitmq-");
        var settings = ShardedSettings(broker);
        await using var first = StartReplica("exporter-1", settings);
        await using var second = StartReplica("exporter-2", settings);
        ServiceProcess[] replicas = [first, second];
        await SplitEvenlyAsync(replicas, "at start");
        var ns = "shard-" + Guid.NewGuid().ToString("N")[..8];
        var boot = Guid.NewGuid().ToString("N");
        async Task PublishWindowsAsync(int from, int to)
        {
            await using var publisher = await InProcessHost.StartAsync("egressd-enricher", b => b.AddEgressdBus(_ => { }), settings);
            var bus = publisher.Services.GetRequiredService<IBus>();
            for (var window = from; window <= to; window++)
            {
                for (var node = 0; node < Nodes; node++)
                {
                    await bus.PublishAsync(Batch($"node-{node}", boot, window, PodFlow(ns, $"web-{node}", "db", "db-0", txBytes: BytesPerFlow)));
                }
            }
        }

        async Task<double> TotalAsync()
        {
            double total = 0;
            foreach (var exporter in replicas)
            {
                total += Exposition.Samples(await exporter.GetStringAsync("/metrics"), "egressd_transmit_bytes_total")
                    .Where(s => s.Labels.GetValueOrDefault("src_namespace") == ns).Sum(s => s.Value);
            }

            return total;
        }

        await PublishWindowsAsync(1, 2);
        const double Before = Nodes * 2 * BytesPerFlow;
        Assert.True(await Eventually.TrueAsync(async () => await TotalAsync() >= Before, TimeSpan.FromSeconds(60)),
            $"the batches were never all counted\n{first.Tail()}\n{second.Tail()}");

        // The broker's node dies while a window is being counted, and comes back: batches counted
        // but not yet acknowledged are delivered again. Had a replica taken the other's shards
        // while neither heard anyone, a copy would land where it was never counted.
        await PublishWindowsAsync(3, 3);
        await broker.KillAsync();
        await broker.RestartAsync();
        await SplitEvenlyAsync(replicas, "after the broker came back");

        await PublishWindowsAsync(4, 5);
        const double After = Nodes * 3 * BytesPerFlow;
        Assert.True(await Eventually.TrueAsync(async () => await TotalAsync() >= Before + After, TimeSpan.FromSeconds(120)),
            $"the batches after the restart were never all counted\n{first.Tail()}\n{second.Tail()}");
        Assert.Equal(Before + After, await TotalAsync());
        foreach (var exporter in replicas)
        {
            Assert.False(exporter.HasExited, $"{exporter.Tail()}");
        }

        for (var shard = 0; shard < Shards; shard++)
        {
            Assert.Equal(0, await broker.MessageCountAsync(PrometheusShards.Queue(shard)));
            Assert.True(await broker.MessageCountAsync(PrometheusShards.Queue(shard) + "_error") <= 0, $"a batch of shard {shard} went to the error queue");
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task A_broker_without_the_consistent_hash_exchange_stops_a_sharded_exporter_with_one_line()
    {
        await using var broker = await PrivateBroker.StartAsync("egressd-shard-rabbitmq-", plugins: "");
        var settings = broker.BusSettings();
        settings["Egressd:Exporter:FlowLog:Enabled"] = "false";
        settings["Egressd:Exporter:Prometheus:Shards"] = "2";
        await using var exporter = ServiceProcess.Start("exporter", Repo.ServiceDll("exporter", "Egressd.Exporter"), settings);

        Assert.NotEqual(0, await exporter.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("needs the broker's consistent-hash exchange, which it lacks: run 'rabbitmq-plugins enable rabbitmq_consistent_hash_exchange'", exporter.Tail(), StringComparison.Ordinal);
    }
}
