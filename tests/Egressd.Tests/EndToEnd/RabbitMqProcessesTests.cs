using System.Net;
using Egressd.Enricher;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.EndToEnd;

/// <summary>The three services as three processes on a real RabbitMQ broker.</summary>
[Collection(BrokerCollection.Name)]
public sealed class RabbitMqProcessesTests(RabbitMqBroker broker)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Batch_fed_to_the_collector_reaches_the_exporter_once_with_every_field()
    {
        await broker.PurgeAsync(FlowBatchCollectedConsumerDefinition.Queue, "egressd-exporter-flow-log");
        var bus = await broker.BusSettingsAsync();
        var (node, flowLog) = NewNode("e2e");
        var fixture = await FlowLogFile.SampleAsync();

        await using var exporter = StartExporter(bus, flowLog);
        await using var enricher = StartEnricher(bus);
        await ReadyAsync(exporter, enricher);

        await using var collector = StartCollector(bus, node, "00:00:00.300");
        await ReadyAsync(collector);

        Assert.True(await Eventually.TrueAsync(() => FlowLogFile.Read(flowLog, node).Count >= fixture.Flows.Count, TimeSpan.FromSeconds(60)),
            $"the fixture's flows never reached the exporter\n{collector.Tail()}\n{enricher.Tail()}\n{exporter.Tail()}");
        await collector.WaitForMoreReadsAsync(3, StartTimeout);

        FlowLogFile.AssertDeliveredOnce(FlowLogFile.Read(flowLog, node), fixture, node);
        Assert.Contains("egressd_collector_batches_published_total 1", await collector.GetStringAsync("/metrics"), StringComparison.Ordinal);
        File.Delete(flowLog);
    }

    [Fact]
    public async Task Services_started_without_a_broker_are_not_ready_then_deliver_once_it_appears()
    {
        await broker.PurgeAsync(FlowBatchCollectedConsumerDefinition.Queue, "egressd-exporter-flow-log");
        var target = await broker.AddressAsync();
        await using var proxy = new TcpProxy(target.Host, target.Port);
        var bus = await broker.BusSettingsAsync(portOverride: proxy.Port);
        bus["Logging:LogLevel:Egressd"] = "Debug";
        var (node, flowLog) = NewNode("late");
        var fixture = await FlowLogFile.SampleAsync();

        await using var exporter = StartExporter(bus, flowLog);
        await using var enricher = StartEnricher(bus);
        await using var collector = StartCollector(bus, node, "00:00:00.300");

        ServiceProcess[] all = [exporter, enricher, collector];
        foreach (var service in all)
        {
            // Alive, serving, and honest that it cannot do its work yet.
            await service.WaitUntilAsync("/healthz", HttpStatusCode.OK, StartTimeout);
            await service.WaitUntilAsync("/readyz", HttpStatusCode.ServiceUnavailable, StartTimeout);
        }

        // Reads go on with the broker away (each waits out a publish timeout); the collector keeps the window.
        await collector.WaitForMoreReadsAsync(2, StartTimeout);
        Assert.Empty(FlowLogFile.Read(flowLog, node));
        Assert.All(all, s => Assert.False(s.HasExited, s.Tail()));

        proxy.Open();
        foreach (var service in all)
        {
            await service.WaitUntilAsync("/readyz", HttpStatusCode.OK, TimeSpan.FromSeconds(90));
        }

        Assert.True(await Eventually.TrueAsync(() => FlowLogFile.Read(flowLog, node).Count >= fixture.Flows.Count, TimeSpan.FromSeconds(60)),
            $"the flows never arrived after the broker appeared\n{collector.Tail()}\n{enricher.Tail()}\n{exporter.Tail()}");
        await collector.WaitForMoreReadsAsync(3, StartTimeout);
        FlowLogFile.AssertDeliveredOnce(FlowLogFile.Read(flowLog, node), fixture, node);
        File.Delete(flowLog);
    }

    [Fact]
    public async Task Batch_enriched_before_any_exporter_queue_exists_waits_and_arrives_once()
    {
        await broker.PurgeAsync(FlowBatchCollectedConsumerDefinition.Queue, FlowBatchCollectedConsumerDefinition.Queue + "_error");
        // As on a first deployment where the exporter comes up last: no queue bound for enriched batches.
        await broker.DeleteQueueAsync("egressd-exporter-flow-log");
        await broker.DeleteQueueAsync("egressd-exporter-prometheus");
        var bus = await broker.BusSettingsAsync();
        bus["Logging:LogLevel:Egressd"] = "Debug";
        var (node, flowLog) = NewNode("first");
        var fixture = await FlowLogFile.SampleAsync();

        await using var enricher = StartEnricher(bus);
        await ReadyAsync(enricher);
        await using var collector = StartCollector(bus, node, "00:00:00.300");
        Assert.True(await Eventually.TrueAsync(() => collector.Output.Any(l => l.Contains("\"EventId\":2003", StringComparison.Ordinal)), StartTimeout),
            "the collector never published its window\n" + collector.Tail());
        // The enricher has the batch and nowhere to put it yet: the broker returns it (NO_ROUTE).
        Assert.True(await Eventually.TrueAsync(() => enricher.Output.Any(l => l.Contains("NO_ROUTE", StringComparison.Ordinal)), StartTimeout),
            "the enricher's publish was never returned\n" + enricher.Tail());

        await using var exporter = StartExporter(bus, flowLog);
        Assert.True(await Eventually.TrueAsync(() => FlowLogFile.Read(flowLog, node).Count >= fixture.Flows.Count, TimeSpan.FromSeconds(90)),
            $"the batch enriched before the exporter existed never arrived\n{enricher.Tail()}\n{exporter.Tail()}");
        await collector.WaitForMoreReadsAsync(3, StartTimeout);
        FlowLogFile.AssertDeliveredOnce(FlowLogFile.Read(flowLog, node), fixture, node);
        // Empty, or never declared (MassTransit declares an _error queue at its first fault).
        Assert.True(await broker.MessageCountAsync(FlowBatchCollectedConsumerDefinition.Queue + "_error") <= 0, "a batch went to the enricher's error queue");
        File.Delete(flowLog);
    }

    [Fact]
    public async Task Collector_stopped_by_SIGTERM_publishes_its_last_window_and_exits_cleanly()
    {
        await broker.PurgeAsync(FlowBatchCollectedConsumerDefinition.Queue, "egressd-exporter-flow-log");
        var bus = await broker.BusSettingsAsync();
        var (node, flowLog) = NewNode("term");
        var fixture = await FlowLogFile.SampleAsync();

        await using var exporter = StartExporter(bus, flowLog);
        await using var enricher = StartEnricher(bus);
        await ReadyAsync(exporter, enricher);

        // A read interval far longer than the test: the only window is the one taken at shutdown.
        await using var collector = StartCollector(bus, node, "01:00:00");
        await ReadyAsync(collector);
        Assert.Empty(FlowLogFile.Read(flowLog, node));

        await collector.StopAsync();
        Assert.Equal(0, await collector.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        Assert.True(await Eventually.TrueAsync(() => FlowLogFile.Read(flowLog, node).Count >= fixture.Flows.Count, TimeSpan.FromSeconds(30)),
            "the window taken at shutdown never arrived\n" + collector.Tail());
        FlowLogFile.AssertDeliveredOnce(FlowLogFile.Read(flowLog, node), fixture, node);
        File.Delete(flowLog);
    }

    /// <summary>A node name of the test's own, and its flow log.</summary>
    private static (string Node, string FlowLog) NewNode(string prefix)
    {
        var node = prefix + "-" + Guid.NewGuid().ToString("N")[..8];
        return (node, Path.Combine(Path.GetTempPath(), $"egressd-{node}.jsonl"));
    }

    private static async Task ReadyAsync(params ServiceProcess[] services)
    {
        foreach (var service in services)
        {
            await service.WaitUntilAsync("/readyz", HttpStatusCode.OK, StartTimeout);
        }
    }

    private static ServiceProcess StartExporter(Dictionary<string, string?> bus, string flowLog) =>
        ServiceProcess.Start("exporter", Repo.ServiceDll("exporter", "Egressd.Exporter"), With(bus, ("Egressd:Exporter:FlowLog:Path", flowLog)));

    private static ServiceProcess StartEnricher(Dictionary<string, string?> bus) =>
        ServiceProcess.Start("enricher", Repo.ServiceDll("enricher", "Egressd.Enricher"), bus);

    /// <summary>A collector replaying the sample fixture once, as node <paramref name="node"/>.</summary>
    private static ServiceProcess StartCollector(Dictionary<string, string?> bus, string node, string readInterval) =>
        ServiceProcess.Start("collector", Repo.ServiceDll("collector", "Egressd.Collector"), With(bus,
            ("Egressd:Collector:NodeName", node),
            ("Egressd:Collector:Source", "replay"),
            ("Egressd:Collector:ReplayFile", Repo.SampleFlows),
            ("Egressd:Collector:ReadInterval", readInterval)));

    private static Dictionary<string, string?> With(Dictionary<string, string?> settings, params (string Key, string Value)[] more)
    {
        var all = new Dictionary<string, string?>(settings);
        foreach (var (key, value) in more)
        {
            all[key] = value;
        }

        return all;
    }
}
