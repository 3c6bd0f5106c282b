using Egressd.Enricher;
using Egressd.Tests.Infrastructure;
using RabbitMQ.Client;

namespace Egressd.Tests.Collector;

/// <summary>The broker goes away in the middle of real traffic: nothing is lost, no id is reused.</summary>
[Collection(BrokerCollection.Name)]
public sealed class CollectorBrokerOutageTests(RabbitMqBroker broker)
{
    private const string CollectedExchange = "Egressd.Contracts:FlowBatchCollected";

    [Fact]
    public async Task Deltas_published_across_a_broker_outage_add_up_to_the_kernels_counters()
    {
        var ct = TestContext.Current.CancellationToken;
        using var lab = new NetnsLab();
        await broker.PurgeAsync(FlowBatchCollectedConsumerDefinition.Queue, "egressd-exporter-flow-log");
        var target = await broker.AddressAsync();
        await using var proxy = new TcpProxy(target.Host, target.Port);
        proxy.Open();

        // Every copy the collector gets into the broker, retries included, seen straight at the broker.
        await using var connection = await broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        await channel.ExchangeDeclareAsync(CollectedExchange, ExchangeType.Fanout, durable: true, cancellationToken: ct);
        var probe = (await channel.QueueDeclareAsync(cancellationToken: ct)).QueueName;
        await channel.QueueBindAsync(probe, CollectedExchange, "", cancellationToken: ct);

        var bus = await broker.BusSettingsAsync(portOverride: proxy.Port);
        bus["Egressd:Bus:PublishTimeout"] = "00:00:02";
        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, "00:00:00.250", bus);
        await using var _ = host;

        var live = await LiveConnection.OpenAsync(lab, 8080);
        await live.TrafficAsync(TimeSpan.FromSeconds(1.5));
        proxy.Close();
        await live.TrafficAsync(TimeSpan.FromSeconds(3));
        proxy.Open();
        await live.TrafficAsync(TimeSpan.FromSeconds(2.5));
        await live.DisposeAsync();

        await NetfilterCollectorTests.AssertLiveConnectionPublishedAsync(lab, flowLog, live);

        var metrics = await new HttpClient().GetStringAsync(new Uri(host.BaseAddress, "/metrics"), ct);
        Assert.Matches(@"egressd_collector_publish_failures_total [1-9]", metrics);

        // Every message id the broker saw carries one content only, however often it was sent.
        var copies = new Dictionary<string, List<string>>();
        while (await channel.BasicGetAsync(probe, autoAck: true, ct) is { } message)
        {
            var body = BusBody.Collected(message);
            if (body.Header.Node != lab.Node)
            {
                continue;
            }

            var id = message.BasicProperties.MessageId!;
            (copies.TryGetValue(id, out var list) ? list : copies[id] = []).Add(BusBody.Canonical(body));
        }

        Assert.NotEmpty(copies);
        Assert.All(copies, c => Assert.Single(c.Value.Distinct()));
    }
}
