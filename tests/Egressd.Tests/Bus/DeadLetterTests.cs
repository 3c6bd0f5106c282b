using Egressd.Contracts;
using Egressd.Enricher;
using Egressd.Shared.Bus;
using Egressd.Tests.Infrastructure;
using RabbitMQ.Client;

namespace Egressd.Tests.Bus;

/// <summary>A message whose consumer dies before acknowledging it, again and again, is parked, not looped forever.</summary>
[Collection(BrokerCollection.Name)]
public sealed class DeadLetterTests(RabbitMqBroker broker)
{
    private const string Queue = FlowBatchCollectedConsumerDefinition.Queue;

    [Fact]
    public async Task Crash_looping_message_is_parked_in_the_dead_queue_after_the_delivery_limit()
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = await broker.BusSettingsAsync();
        var id = new BatchId { Node = "dead", BootId = Guid.NewGuid().ToString("N"), Window = 1, Part = 0, PartCount = 1 };
        // The enricher declares its queue (quorum, delivery limit, dead-letter queue) and goes away.
        await (await EnricherOnBroker.StartAsync(settings, broker)).DisposeAsync();

        await broker.PurgeAsync(Queue, Queue + "_dead");
        await using var connection = await broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        await channel.BasicPublishAsync("", Queue, mandatory: true, new BasicProperties { MessageId = id.ToMessageId().ToString(), Persistent = true },
            "{\"message\":{}}"u8.ToArray(), ct);

        // A consumer that takes the message and dies before acknowledging it: the broker redelivers.
        var deliveries = 0;
        while (await broker.MessageCountAsync(Queue + "_dead") < 1 && deliveries <= BusHostingExtensions.DeliveryLimit + 5)
        {
            if (await channel.BasicGetAsync(Queue, autoAck: false, ct) is { } delivery)
            {
                deliveries++;
                await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true, ct);
            }
            else
            {
                await Task.Delay(20, ct);
            }
        }

        Assert.True(await Eventually.TrueAsync(async () => await broker.MessageCountAsync(Queue + "_dead") == 1, TimeSpan.FromSeconds(10)),
            $"not parked after {deliveries} deliveries");
        Assert.InRange(deliveries, BusHostingExtensions.DeliveryLimit, BusHostingExtensions.DeliveryLimit + 1);
        Assert.Equal(0, await broker.MessageCountAsync(Queue));
        var parked = await channel.BasicGetAsync(Queue + "_dead", autoAck: true, ct);
        Assert.Equal(id.ToMessageId().ToString(), parked!.BasicProperties.MessageId);
    }
}
