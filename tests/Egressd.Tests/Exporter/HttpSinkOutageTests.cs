using Egressd.Contracts;
using Egressd.Tests.Exporter.EgressdPb;
using Egressd.Tests.Infrastructure;
using MassTransit;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary>
/// The HTTP sink through a receiver's minute-long outage, on the in-memory bus against a real
/// Kestrel receiver on loopback. It needs no root or broker, but the outage takes a real minute,
/// so it runs with the slow tests rather than in the fast project.
/// </summary>
public sealed class HttpSinkOutageTests
{
    private static Dictionary<string, string?> Sink(WebhookReceiver receiver, params (string Key, string Value)[] more)
    {
        const string prefix = "Egressd:Exporter:Sinks:hook:http:";
        var settings = new Dictionary<string, string?>
        {
            ["Egressd:Exporter:Prometheus:Enabled"] = "false",
            [prefix + "url"] = receiver.BaseAddress + "in?tenant=t1",
            [prefix + "retry:initialDelay"] = "100ms",
        };
        foreach (var (key, value) in more)
        {
            settings[prefix + key] = value;
        }

        return settings;
    }

    private static FlowBatchEnriched Window(string boot, long window, DateTimeOffset end, int flows, ulong bytes)
    {
        var batch = Batch("node-a", boot, window, [.. Enumerable.Range(0, flows).Select(i => PodFlow("shop", $"web-{i}", "db", "db-0", txBytes: bytes))]);
        return batch with { Header = batch.Header with { WindowStart = end.AddSeconds(-5), WindowEnd = end } };
    }

    private static long TxBytes(WebhookReceiver receiver) =>
        receiver.Applied.Values.Sum(r => PodNetworkMetricBatch.Parser.ParseFrom(r.Body).Items.Sum(i => i.TxBytes));

    /// <summary>The outage: the receiver fails every request for a minute, then takes them.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task A_receiver_answering_500_for_60_seconds_gets_every_flow_once_by_idempotency_key()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var healthyAt = DateTimeOffset.UtcNow.AddSeconds(60);
        receiver.Script = _ => DateTimeOffset.UtcNow < healthyAt ? new WebhookReceiver.Answer(500, Body: "down") : new WebhookReceiver.Answer(200);
        await using var exporter = await InMemoryExporter.StartAsync(Sink(receiver,
        [
            ("interval", "2s"),
            ("maxFlowsPerRequest", "25"),
            ("retry:maxTime", "5m"),
            ("retry:maxDelay", "5s"),
        ]));
        var bus = exporter.Services.GetRequiredService<IBus>();
        var start = DateTimeOffset.UtcNow;
        long expected = 0;
        for (var window = 1; window <= 40; window++)
        {
            var batch = Window("outage", window, start.AddSeconds(window * 0.5), 10, bytes: (ulong)window);
            expected += 10L * window;
            await bus.PublishAsync(batch);
            if (window % 8 == 0)
            {
                // A redelivered copy of a batch already in flight.
                await bus.PublishAsync(batch);
            }
        }

        Assert.True(await Eventually.TrueAsync(() => TxBytes(receiver) == expected, TimeSpan.FromSeconds(180)),
            $"{TxBytes(receiver)} of {expected} bytes; {receiver.Requests.Count} requests");
        Assert.Contains(receiver.Requests, r => r.At >= healthyAt);
        Assert.True(receiver.Requests.Count > receiver.Applied.Count, "nothing was retried");
        // Every retried request came back with a key the receiver then applied once.
        Assert.All(receiver.Requests.Select(r => r.Key).Distinct(), k => Assert.Contains(k, receiver.Applied.Keys));
        Assert.Equal(0, receiver.RepeatedKeys);
        Assert.Equal(400, receiver.Applied.Values.Sum(r => PodNetworkMetricBatch.Parser.ParseFrom(r.Body).Items.Count));
        Assert.All(receiver.Applied.Values, r => Assert.InRange(PodNetworkMetricBatch.Parser.ParseFrom(r.Body).Items.Count, 1, 25));
    }
}
