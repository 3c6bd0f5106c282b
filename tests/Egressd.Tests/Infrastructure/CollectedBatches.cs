using RabbitMQ.Client;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// Every collected batch the broker routes, seen straight at the broker through a queue of the
/// test's own, summed per flow key once per message id (as every sink deduplicates), with a check
/// that one id never carries two contents.
/// </summary>
internal sealed class CollectedBatches : IAsyncDisposable
{
    private const string Exchange = "Egressd.Contracts:FlowBatchCollected";

    private readonly IConnection connection;
    private readonly IChannel channel;
    private readonly string queue;
    private readonly string node;
    private readonly Dictionary<string, string> contents = [];
    private readonly Dictionary<(string Source, string Destination, int Protocol), (ulong Tx, ulong Rx, ulong TxPackets, ulong RxPackets)> totals = [];

    private CollectedBatches(IConnection connection, IChannel channel, string queue, string node)
    {
        this.connection = connection;
        this.channel = channel;
        this.queue = queue;
        this.node = node;
    }

    public static async Task<CollectedBatches> StartAsync(RabbitMqBroker broker, string node)
    {
        var connection = await broker.ConnectAsync();
        var channel = await connection.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(Exchange, ExchangeType.Fanout, durable: true);
        var queue = (await channel.QueueDeclareAsync()).QueueName;
        await channel.QueueBindAsync(queue, Exchange, "");
        return new CollectedBatches(connection, channel, queue, node);
    }

    /// <summary>Distinct message ids seen, and how many arrived more than once.</summary>
    public int Batches => contents.Count;

    public int Copies { get; private set; }

    /// <summary>Takes what arrived and returns the totals per (source, destination, protocol).</summary>
    public async Task<IReadOnlyDictionary<(string Source, string Destination, int Protocol), (ulong Tx, ulong Rx, ulong TxPackets, ulong RxPackets)>> TotalsAsync()
    {
        while (await channel.BasicGetAsync(queue, autoAck: true) is { } message)
        {
            var body = BusBody.Collected(message);
            if (body.Header.Node != node)
            {
                continue;
            }

            var id = message.BasicProperties.MessageId!;
            var content = BusBody.Canonical(body);
            if (contents.TryGetValue(id, out var seen))
            {
                Copies++;
                Assert.True(seen == content, $"message id {id} carried two different contents");
                continue;
            }

            contents[id] = content;
            foreach (var flow in body.Flows)
            {
                var key = (flow.SourceIp.ToString(), flow.DestinationIp.ToString(), flow.Protocol);
                var t = totals.GetValueOrDefault(key);
                totals[key] = (t.Tx + flow.TxBytes, t.Rx + flow.RxBytes, t.TxPackets + flow.TxPackets, t.RxPackets + flow.RxPackets);
            }
        }

        return totals;
    }

    public async ValueTask DisposeAsync()
    {
        await channel.CloseAsync();
        await connection.CloseAsync();
        channel.Dispose();
        connection.Dispose();
    }
}
