using System.Net;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Shared.Bus;
using Egressd.Tests.Infrastructure;
using MassTransit;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary>Two exporter replicas on a real RabbitMQ: the Prometheus queue feeds one at a time.</summary>
[Collection(BrokerCollection.Name)]
public sealed class PrometheusSinkBrokerTests(RabbitMqBroker broker)
{
    private static readonly string Queue = PrometheusSink.Queue;

    [Fact]
    public async Task One_replica_counts_every_batch_once_and_the_standby_takes_over_when_it_stops()
    {
        await broker.PurgeAsync(Queue, Queue + "_error");
        var bus = await broker.BusSettingsAsync();
        bus["Egressd:Exporter:FlowLog:Enabled"] = "false";
        var dll = Repo.ServiceDll("exporter", "Egressd.Exporter");
        await using var first = ServiceProcess.Start("exporter-1", dll, bus);
        await first.WaitUntilAsync("/readyz", HttpStatusCode.OK, TimeSpan.FromSeconds(60));
        await using var second = ServiceProcess.Start("exporter-2", dll, bus);
        await second.WaitUntilAsync("/readyz", HttpStatusCode.OK, TimeSpan.FromSeconds(60));

        // A publisher of enriched batches, as the enricher is.
        await using var publisher = await InProcessHost.StartAsync("egressd-enricher", b => b.AddEgressdBus(_ => { }), bus);
        var publish = publisher.Services.GetRequiredService<IBus>();
        var ns = "sac-" + Guid.NewGuid().ToString("N")[..8];
        var boot = Guid.NewGuid().ToString("N");
        const int Batches = 30;
        for (var window = 1; window <= Batches; window++)
        {
            var batch = Batch("node-a", boot, window, PodFlow(ns, "web-1", "db", "db-0", txBytes: 100));
            await publish.PublishAsync(batch);
            if (window % 10 == 0)
            {
                // A redelivery of a batch already sent (a collector retry after a lost confirm).
                await publish.PublishAsync(batch);
            }
        }

        async Task<double> BytesAsync(ServiceProcess exporter) =>
            Exposition.Value(await exporter.GetStringAsync("/metrics"), "egressd_transmit_bytes_total", "src_namespace", ns);

        Assert.True(await Eventually.TrueAsync(async () => await BytesAsync(first) + await BytesAsync(second) >= Batches * 100, TimeSpan.FromSeconds(60)),
            $"the batches were never all counted\n{first.Tail()}\n{second.Tail()}");
        var counts = (First: await BytesAsync(first), Second: await BytesAsync(second));
        Assert.True(counts.First == 0 || counts.Second == 0, $"both replicas consumed: {counts}");
        Assert.Equal(Batches * 100, counts.First + counts.Second);
        var (active, standby) = counts.First > 0 ? (first, second) : (second, first);
        var text = "";
        Assert.True(await Eventually.TrueAsync(
            async () => Exposition.Value(text = await active.GetStringAsync("/metrics"), "egressd_exporter_duplicates_skipped_total", "sink", "prometheus") == 3, TimeSpan.FromSeconds(60)),
            "the three copies were not all dropped\n" + text);
        Assert.Equal(Batches, Exposition.Value(text, "egressd_exporter_batches_applied_total", "sink", "prometheus"));
        Assert.Equal(Batches * 100, await BytesAsync(active));

        // The active replica goes (a rollout); the standby gets the queue and what comes next.
        await active.StopAsync();
        for (var window = Batches + 1; window <= Batches + 5; window++)
        {
            await publish.PublishAsync(Batch("node-a", boot, window, PodFlow(ns, "web-1", "db", "db-0", txBytes: 100)));
        }

        Assert.True(await Eventually.TrueAsync(async () => await BytesAsync(standby) == 500, TimeSpan.FromSeconds(60)),
            $"the standby never took over\n{standby.Tail()}");
        Assert.True(await broker.MessageCountAsync(Queue + "_error") <= 0, "a batch went to the error queue");
    }
}
