using System.Globalization;
using System.Net;
using System.Text;
using Egressd.Contracts;
using Egressd.Enricher;
using Egressd.Shared.Bus;
using Egressd.Tests.Infrastructure;
using MassTransit;
using RabbitMQ.Client;

namespace Egressd.Tests.Faults;

/// <summary>
/// Malformed, oversized, unknown-type and over-capped messages on every queue (collector to
/// enricher, and each exporter sink's), and one that keeps failing its deliveries: each lands in
/// the right parking queue, is counted once with its reason, and the consumers go on.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class PoisonEveryQueueTests(RabbitMqBroker broker)
{
    private const string EnricherQueue = FlowBatchCollectedConsumerDefinition.Queue;
    private const string Faulted = "egressd_bus_messages_faulted_total";
    private static readonly string[] SinkQueues = [FaultPipeline.FlowLogQueue, FaultPipeline.PrometheusQueue];

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Every_poison_message_is_parked_in_the_right_queue_and_counted_once()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = TestContext.Current.TestOutputHelper;
        string[] all = [EnricherQueue, .. SinkQueues];
        await broker.PurgeAsync([.. all, .. all.SelectMany(q => new[] { q + "_error", q + "_skipped", q + "_dead" })]);
        var settings = await broker.BusSettingsAsync();
        settings["Egressd:Enricher:MaxFlowsPerBatch"] = "20";
        settings["Egressd:Exporter:MaxFlowsPerBatch"] = "10";
        await using var pipeline = new FaultPipeline(settings, "poison", flows: 1, flowsPerPart: 1);
        await pipeline.StartConsumersAsync();

        // A message whose deliveries keep failing (here: taken and returned by hand while no enricher runs).
        await pipeline.Enricher!.StopAsync();
        await using var connection = await broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        await PublishRawAsync(channel, EnricherQueue, "{}"u8.ToArray(), ct);
        for (var returned = 0; returned < BusHostingExtensions.DeliveryLimit - 1;)
        {
            if (await channel.BasicGetAsync(EnricherQueue, autoAck: false, ct) is { } delivery)
            {
                await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true, ct);
                returned++;
            }
        }

        var enricher = pipeline.StartEnricher();
        await enricher.WaitUntilAsync("/readyz", HttpStatusCode.OK, FaultPipeline.StartTimeout);
        Assert.True(await Eventually.TrueAsync(async () => await broker.MessageCountAsync(EnricherQueue + "_dead") == 1, TimeSpan.FromSeconds(30)),
            "the message at its delivery limit was not parked\n" + enricher.Tail());

        // The enricher's resident memory with a 48 MB body in its queue: refused unread.
        var rssBefore = enricher.RssBytes();
        await PublishRawAsync(channel, EnricherQueue, Oversized(48_000_000), ct);
        foreach (var queue in SinkQueues)
        {
            await PublishRawAsync(channel, queue, Oversized((16 << 20) + 1), ct);
        }

        foreach (var queue in all)
        {
            await PublishRawAsync(channel, queue, Encoding.UTF8.GetBytes("{ this is not json"), ct);
            await PublishRawAsync(channel, queue, UnknownType(), ct);
        }

        // Over the enricher's cap (20), and over the exporter's (10) but not the enricher's.
        var publisher = await PublisherAsync();
        var bus = publisher.Services.GetRequiredService<IBus>();
        await bus.PublishBatchAsync(Batch("poison-21", 21), Batch("poison-21", 21).Header.Id, TimeSpan.FromSeconds(10), ct);
        await bus.PublishBatchAsync(Batch("poison-11", 11), Batch("poison-11", 11).Header.Id, TimeSpan.FromSeconds(10), ct);

        // The consumers go on: a good batch after all of it reaches the flow log.
        pipeline.Nodes.Add("poison-good");
        await bus.PublishBatchAsync(Batch("poison-good", 1), Batch("poison-good", 1).Header.Id, TimeSpan.FromSeconds(10), ct);
        Assert.True(await Eventually.TrueAsync(() => pipeline.Lines() == 1, TimeSpan.FromSeconds(60)), "the good batch never arrived\n" + pipeline.Exporter!.Tail());

        var expected = new Dictionary<(string Endpoint, string Queue, string Reason), double>
        {
            [(EnricherQueue, EnricherQueue + "_dead", FaultReasons.DeliveryLimit)] = 1,
            [(EnricherQueue, EnricherQueue + "_error", FaultReasons.TooLarge)] = 1,
            [(EnricherQueue, EnricherQueue + "_error", FaultReasons.Malformed)] = 1,
            [(EnricherQueue, EnricherQueue + "_error", FaultReasons.TooManyFlows)] = 1,
            [(EnricherQueue, EnricherQueue + "_skipped", FaultReasons.UnknownType)] = 1,
        };
        foreach (var queue in SinkQueues)
        {
            expected[(queue, queue + "_error", FaultReasons.TooLarge)] = 1;
            expected[(queue, queue + "_error", FaultReasons.Malformed)] = 1;
            expected[(queue, queue + "_error", FaultReasons.TooManyFlows)] = 1;
            expected[(queue, queue + "_skipped", FaultReasons.UnknownType)] = 1;
        }

        Assert.True(await Eventually.TrueAsync(async () => (await FaultsAsync(pipeline)).Values.Sum() >= expected.Values.Sum(), TimeSpan.FromSeconds(60)),
            "not every poison message was counted\n" + enricher.Tail() + "\n" + pipeline.Exporter!.Tail());
        var counted = await FaultsAsync(pipeline);
        output?.WriteLine(string.Join('\n', counted.Select(c => $"{c.Key}: {c.Value}")));
        Assert.Equal(expected.OrderBy(e => e.Key.ToString()), counted.OrderBy(e => e.Key.ToString()));
        foreach (var group in expected.GroupBy(e => e.Key.Queue))
        {
            Assert.Equal(group.Sum(e => e.Value), await broker.MessageCountAsync(group.Key));
        }

        var rssGrowth = enricher.RssBytes() - rssBefore;
        output?.WriteLine($"enricher RSS {rssBefore >> 20} MiB before the 48 MB body, +{rssGrowth >> 20} MiB after");
        Assert.True(rssGrowth < 200 << 20, $"the enricher grew by {rssGrowth >> 20} MiB on one refused 48 MB body");
        await publisher.DisposeAsync();
    }

    /// <summary>Every fault-metric sample of the enricher and the exporter, by endpoint, queue and reason.</summary>
    private static async Task<Dictionary<(string Endpoint, string Queue, string Reason), double>> FaultsAsync(FaultPipeline pipeline)
    {
        var samples = Exposition.Samples(await pipeline.Enricher!.GetStringAsync("/metrics"), Faulted)
            .Concat(Exposition.Samples(await pipeline.Exporter!.GetStringAsync("/metrics"), Faulted));
        return samples.Where(s => s.Value > 0)
            .ToDictionary(s => (s.Labels["endpoint"], s.Labels["queue"], s.Labels["reason"]), s => s.Value);
    }

    private async Task<InProcessHost> PublisherAsync()
    {
        var host = await InProcessHost.StartAsync("poison-publisher", b => b.AddEgressdBus(_ => { }), await broker.BusSettingsAsync());
        var bus = host.Services.GetRequiredService<IBusControl>();
        Assert.True(await Eventually.TrueAsync(() => bus.CheckHealth().Status == BusHealthStatus.Healthy, TimeSpan.FromSeconds(60)));
        return host;
    }

    private static FlowBatchCollected Batch(string node, int flows) => new()
    {
        Header = new BatchHeader
        {
            Id = new BatchId { Node = node, BootId = "poison", Window = 1, Part = 0, PartCount = 1 },
            Node = node,
            WindowStart = DateTimeOffset.UnixEpoch,
            WindowEnd = DateTimeOffset.UnixEpoch.AddSeconds(5),
            Source = FlowSource.Replay,
        },
        Flows = [.. Enumerable.Range(1, flows).Select(i => new FlowRecord
        {
            SourceIp = IpAddr.Parse("10.9.0." + i.ToString(CultureInfo.InvariantCulture)),
            DestinationIp = IpAddr.Parse("10.9.1.1"),
            Protocol = 6,
            TxBytes = 1,
            RxBytes = 1,
            TxPackets = 1,
            RxPackets = 1,
        })],
        DnsAnswers = [],
    };

    private static byte[] Oversized(int size)
    {
        var body = new byte[size];
        Array.Fill(body, (byte)' ');
        "{\"message\":{}}"u8.CopyTo(body);
        return body;
    }

    private static byte[] UnknownType() => Encoding.UTF8.GetBytes(
        $"{{\"messageId\":\"{Guid.NewGuid()}\",\"messageType\":[\"urn:message:Egressd.Contracts:FlowBatchFromTheFuture\"],\"message\":{{\"id\":1}}}}");

    private static async Task PublishRawAsync(IChannel channel, string queue, byte[] body, CancellationToken ct)
    {
        var properties = new BasicProperties { ContentType = "application/vnd.masstransit+json", MessageId = Guid.NewGuid().ToString(), Persistent = true };
        await channel.BasicPublishAsync("", queue, mandatory: true, properties, body, ct);
    }
}
