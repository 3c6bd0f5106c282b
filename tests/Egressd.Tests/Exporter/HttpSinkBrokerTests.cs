using System.Net;
using Egressd.Exporter;
using Egressd.Exporter.Sinks.Http;
using Egressd.Shared.Bus;
using Egressd.Tests.Exporter.EgressdPb;
using Egressd.Tests.Infrastructure;
using MassTransit;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary>The HTTP sink on a real RabbitMQ: parking in the sink's _error queue, and an exporter killed mid-retry.</summary>
[Collection(BrokerCollection.Name)]
public sealed class HttpSinkBrokerTests(RabbitMqBroker broker)
{
    private static Dictionary<string, string?> Settings(Dictionary<string, string?> bus, string sink, WebhookReceiver receiver, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>(bus)
        {
            ["Egressd:Exporter:FlowLog:Enabled"] = "false",
            ["Egressd:Exporter:Prometheus:Enabled"] = "false",
            [$"Egressd:Exporter:Sinks:{sink}:http:url"] = receiver.BaseAddress + "in",
            [$"Egressd:Exporter:Sinks:{sink}:http:retry:initialDelay"] = "100ms",
            [$"Egressd:Exporter:Sinks:{sink}:http:retry:maxDelay"] = "500ms",
        };
        foreach (var (key, value) in more)
        {
            settings[$"Egressd:Exporter:Sinks:{sink}:http:{key}"] = value;
        }

        return settings;
    }

    [Fact]
    public async Task A_400_parks_the_batch_in_the_sinks_error_queue_and_counts_it()
    {
        var sink = "park-" + Guid.NewGuid().ToString("N")[..6];
        var queue = HttpSinkSettings.QueueName(sink);
        await using var cleanup = new SinkQueueDeletedAfterwards(broker, queue);
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Script = _ => new WebhookReceiver.Answer(400, Body: "unknown tenant");
        var bus = await broker.BusSettingsAsync();
        await using var exporter = await InProcessHost.StartAsync("egressd-exporter", b => b.AddExporter(), Settings(bus, sink, receiver, ("interval", "0")));
        // Published before the sink's queue is bound, the batch would go nowhere: /readyz passes once the bus's endpoints are up.
        using var http = new HttpClient();
        Assert.True(await Eventually.TrueAsync(async () => (await http.GetAsync(new Uri(exporter.BaseAddress, "/readyz"), TestContext.Current.CancellationToken)).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(60)),
            "the exporter never became ready");
        await exporter.Services.GetRequiredService<IBus>().PublishAsync(Batch("node-a", Guid.NewGuid().ToString("N"), 1, PodFlow("shop", "web-1", "db", "db-0", txBytes: 5)));

        Assert.True(await Eventually.TrueAsync(async () => await broker.MessageCountAsync(queue + "_error") == 1, TimeSpan.FromSeconds(60)),
            $"{receiver.Requests.Count} requests");
        Assert.Single(receiver.Requests);
        Assert.Equal(1, exporter.Services.GetRequiredService<BusMetrics>().Faulted.WithLabels(queue, queue + "_error", FaultReasons.Rejected).Value);
        Assert.Equal(1, exporter.Services.GetRequiredService<HttpSinkMetrics>().Parked.WithLabels(sink, FaultReasons.Rejected).Value);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task An_exporter_killed_mid_retry_loses_nothing_and_the_redelivery_has_the_same_key()
    {
        var sink = "kill-" + Guid.NewGuid().ToString("N")[..6];
        await using var cleanup = new SinkQueueDeletedAfterwards(broker, HttpSinkSettings.QueueName(sink));
        await using var receiver = await WebhookReceiver.StartAsync();
        var healthy = false;
        receiver.Script = _ => healthy ? new WebhookReceiver.Answer(200) : new WebhookReceiver.Answer(503);
        var bus = await broker.BusSettingsAsync();
        var settings = Settings(bus, sink, receiver, ("interval", "1s"), ("retry:maxTime", "5m"));
        var dll = Repo.ServiceDll("exporter", "Egressd.Exporter");

        var boot = Guid.NewGuid().ToString("N");
        var end = DateTimeOffset.UtcNow;
        await using (var first = ServiceProcess.Start("exporter-1", dll, settings))
        {
            await first.WaitUntilAsync("/readyz", HttpStatusCode.OK, TimeSpan.FromSeconds(60));
            await using var publisher = await InProcessHost.StartAsync("egressd-enricher", b => b.AddEgressdBus(_ => { }), bus);
            var publish = publisher.Services.GetRequiredService<IBus>();
            for (var window = 1; window <= 5; window++)
            {
                var batch = Batch("node-a", boot, window, PodFlow("shop", "web-1", "db", "db-0", txBytes: 100));
                await publish.PublishAsync(batch with { Header = batch.Header with { WindowStart = end.AddSeconds(-5), WindowEnd = end } });
            }

            // Retrying: the receiver has refused the interval's request at least twice.
            Assert.True(await Eventually.TrueAsync(() => receiver.Requests.Count >= 3, TimeSpan.FromSeconds(60)), first.Tail());
            await first.KillAsync();
        }

        var keysBefore = receiver.Requests.Select(r => r.Key).ToHashSet();
        Assert.Single(keysBefore);
        healthy = true;
        await using var second = ServiceProcess.Start("exporter-2", dll, settings);
        Assert.True(await Eventually.TrueAsync(() => receiver.Applied.Count == 1, TimeSpan.FromSeconds(60)), second.Tail());
        var applied = receiver.Applied.Values.Single();
        Assert.Contains(applied.Key, keysBefore);
        Assert.Equal(500, PodNetworkMetricBatch.Parser.ParseFrom(applied.Body).Items.Sum(i => i.TxBytes));
        Assert.True(await Eventually.TrueAsync(async () => await broker.MessageCountAsync(HttpSinkSettings.QueueName(sink)) == 0, TimeSpan.FromSeconds(30)));
        // Before and after the kill, the five batches only ever travelled under one key, applied once.
        Assert.Single(receiver.Requests.Select(r => r.Key).Distinct());
        Assert.Single(receiver.Applied);
    }
}
