using System.Text;
using Egressd.Contracts;
using Egressd.Enricher;
using Egressd.Shared.Bus;
using Egressd.Tests.Infrastructure;
using RabbitMQ.Client;

namespace Egressd.Tests.Enricher;

[Collection(BrokerCollection.Name)]
public sealed class PoisonMessageTests(RabbitMqBroker broker)
{
    private const string ErrorQueue = FlowBatchCollectedConsumerDefinition.Queue + "_error";

    [Fact]
    public async Task Malformed_message_goes_to_error_queue_is_counted_and_the_next_good_one_is_processed()
    {
        await broker.PurgeAsync(FlowBatchCollectedConsumerDefinition.Queue, ErrorQueue);
        await using var enricher = await EnricherOnBroker.StartAsync(await broker.BusSettingsAsync(), broker);
        var channel = enricher.Channel;

        var faults = enricher.Host.Services.GetRequiredService<BusMetrics>().Faulted.WithLabels(FlowBatchCollectedConsumerDefinition.Queue, ErrorQueue, FaultReasons.Malformed);
        Assert.Equal(0, faults.Value);

        var properties = new BasicProperties { ContentType = "application/vnd.masstransit+json", MessageId = Guid.NewGuid().ToString(), Persistent = true };
        await channel.BasicPublishAsync("", FlowBatchCollectedConsumerDefinition.Queue, mandatory: true, properties,
            Encoding.UTF8.GetBytes("{ this is not json"), TestContext.Current.CancellationToken);

        Assert.True(await Eventually.TrueAsync(async () => await broker.MessageCountAsync(ErrorQueue) == 1, TimeSpan.FromSeconds(30)),
            "the malformed message never reached " + ErrorQueue);
        Assert.Equal(1, faults.Value);
        Assert.Contains("egressd_bus_messages_faulted_total{endpoint=\"egressd-enricher\",queue=\"egressd-enricher_error\",reason=\"malformed\"}",
            await new HttpClient().GetStringAsync(new Uri(enricher.Host.BaseAddress, "/metrics"), TestContext.Current.CancellationToken), StringComparison.Ordinal);

        var good = new FlowBatchCollected
        {
            Header = new BatchHeader
            {
                Id = new BatchId { Node = "poison-test", BootId = Guid.NewGuid().ToString("N"), Window = 1, Part = 0, PartCount = 1 },
                Node = "poison-test",
                WindowStart = DateTimeOffset.UtcNow.AddSeconds(-5),
                WindowEnd = DateTimeOffset.UtcNow,
                Source = FlowSource.Replay,
            },
            Flows = [new FlowRecord { SourceIp = IpAddr.Parse("10.0.0.1"), DestinationIp = IpAddr.Parse("10.0.0.2"), Protocol = 6, TxBytes = 1, RxBytes = 2, TxPackets = 1, RxPackets = 1 }],
            DnsAnswers = [],
        };
        await enricher.Bus.PublishBatchAsync(good, good.Header.Id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        // The good message after the malformed one is enriched.
        var result = await enricher.NextEnrichedAsync();
        Assert.Equal(good.Header.Id.ToMessageId().ToString(), result.BasicProperties.MessageId);
        Assert.Contains(good.Header.Id.BootId, Encoding.UTF8.GetString(result.Body.Span), StringComparison.Ordinal);
        Assert.Equal(1, await broker.MessageCountAsync(ErrorQueue));
    }
}
