using System.Text;
using Egressd.Contracts;
using Egressd.Enricher;
using Egressd.Shared.Bus;
using Egressd.Shared.Wire;
using Egressd.Tests.Infrastructure;
using Egressd.Tests.Samples;
using RabbitMQ.Client;
using static Egressd.Tests.Infrastructure.SampleFlows;

namespace Egressd.Tests.Enricher;

/// <summary>The enricher on a real RabbitMQ, with its Kubernetes context from the fake API server.</summary>
[Collection(BrokerCollection.Name)]
public sealed class EnricherBusTests(RabbitMqBroker broker) : IAsyncLifetime
{
    private const string ErrorQueue = FlowBatchCollectedConsumerDefinition.Queue + "_error";
    private FakeKubernetesApi api = null!;
    private EnricherOnBroker enricher = null!;

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        TestContext.Current.TestOutputHelper?.WriteLine("Kubernetes: the in-process fake API server (no real cluster is used by these tests)");
        api = await FakeKubernetesApi.StartAsync();
        api.Apply(FakeKubernetesApi.Node("node-a", "zone-a", "region-1", "10.0.0.1"));
        api.Apply(FakeKubernetesApi.Node("node-b", "zone-b", "region-1", "10.0.0.2"));
        api.Apply(FakeKubernetesApi.ReplicaSet("shop", "web-7d9f", "web"));
        api.Apply(FakeKubernetesApi.Pod("shop", "web-7d9f-x1", "node-a", ["10.244.1.10"], "ReplicaSet", "web-7d9f"));
        api.Apply(FakeKubernetesApi.Pod("shop", "db-0", "node-b", ["10.244.2.20"], "StatefulSet", "db"));
        api.Apply(FakeKubernetesApi.Service("shop", "db", "10.96.0.15"));

        await broker.PurgeAsync(FlowBatchCollectedConsumerDefinition.Queue, ErrorQueue);
        var settings = await broker.BusSettingsAsync();
        settings["Egressd:Kubernetes:Kubeconfig"] = api.Kubeconfig;
        settings["Egressd:Enricher:MaxFlowsPerBatch"] = "1000";
        enricher = await EnricherOnBroker.StartAsync(settings, broker, ready: true);
    }

    public async ValueTask DisposeAsync()
    {
        await enricher.DisposeAsync();
        await api.DisposeAsync();
    }

    [Fact]
    public async Task Batch_comes_out_enriched_with_the_same_id_and_a_redelivery_with_the_same_id_again()
    {
        var bus = enricher.Bus;
        var batch = Batch(Guid.NewGuid().ToString("N"), Flow("10.244.1.10", "10.244.2.20", "10.96.0.15"));

        await bus.PublishBatchAsync(batch, batch.Header.Id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var first = await ReceiveAsync();
        // At-least-once: the same batch delivered again (same id) is enriched again, with the same id.
        await bus.PublishBatchAsync(batch, batch.Header.Id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var second = await ReceiveAsync();

        Assert.Equal(batch.Header.Id.ToMessageId().ToString(), first.MessageId);
        Assert.Equal(first.MessageId, second.MessageId);
        Assert.Equal(BusBody.Canonical(first.Message), BusBody.Canonical(second.Message));
        var flow = EnrichedRows.Rows(first.Message)[0];
        Assert.Equal(batch.Header.Id, first.Message.Header.Id);
        Assert.Equal(batch.Flows[0], flow.Flow);
        Assert.Equal("web", flow.Source.WorkloadName);
        Assert.Equal("Deployment", flow.Source.WorkloadKind);
        Assert.Equal("db-0", flow.Destination.Pod);
        Assert.Equal("zone-b", flow.Destination.Zone);
        Assert.Equal("shop/db", flow.DestinationService);
        Assert.Equal(TrafficClass.CrossZone, flow.TrafficClass);
    }

    [Fact]
    public async Task Bad_batches_go_to_the_error_queue_or_are_skipped_and_the_enricher_keeps_going()
    {
        var bus = enricher.Bus;
        var host = enricher.Host.BaseAddress;
        using var http = new HttpClient();
        async Task<double> Metric(string line)
        {
            var text = await http.GetStringAsync(new Uri(host, "/metrics"));
            var found = text.Split('\n').FirstOrDefault(l => l.StartsWith(line + " ", StringComparison.Ordinal));
            return found is null ? 0 : double.Parse(found.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
        }

        var metrics = enricher.Host.Services.GetRequiredService<EnricherMetrics>();
        var boot = Guid.NewGuid().ToString("N");
        FlowBatchCollected[] bad =
        [
            Batch(boot, 2, Flow("10.244.1.10", "10.244.2.20", null) with { Protocol = 300 }),
            Batch(boot, 3, [.. Enumerable.Range(0, 1001).Select(i => Flow("10.244.1.10", $"198.18.{i / 250}.{i % 250}", null))]),
        ];
        foreach (var batch in bad)
        {
            await bus.PublishBatchAsync(batch, batch.Header.Id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }

        // A body that claims the wire but breaks it: a flow refers to an address its table lacks.
        var broken = FlowWire.Encode(Batch(boot, 1, Flow("10.244.1.10", "10.244.2.20", null)));
        await enricher.Channel.BasicPublishAsync("Egressd.Contracts:FlowBatchCollected", "", mandatory: true,
            new BasicProperties { ContentType = FlowWire.ContentType.MediaType, MessageId = Guid.NewGuid().ToString(), Headers = new Dictionary<string, object?> { ["MT-MessageType"] = "urn:message:Egressd.Contracts:FlowBatchCollected" } },
            BrokenAddressTable(broken), TestContext.Current.CancellationToken);

        var empty = Batch(boot, 4);
        await bus.PublishBatchAsync(empty, empty.Header.Id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var good = Batch(boot, 5, Flow("10.244.1.10", "198.18.7.9", null));
        await bus.PublishBatchAsync(good, good.Header.Id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        var enriched = await ReceiveAsync();
        Assert.Equal(good.Header.Id.ToMessageId().ToString(), enriched.MessageId);
        Assert.True(await Eventually.TrueAsync(async () => await broker.MessageCountAsync(ErrorQueue) == 3, TimeSpan.FromSeconds(30)),
            $"{ErrorQueue} holds {await broker.MessageCountAsync(ErrorQueue)}");
        Assert.Equal(2, metrics.Refused.Value);
        Assert.Equal(1, metrics.Skipped.WithLabels("empty").Value);
        Assert.Equal(2, await Metric("egressd_enricher_batches_refused_total"));
        Assert.Equal(1, await Metric("egressd_enricher_batches_skipped_total{reason=\"empty\"}"));
        // Nothing but the good batch came out.
        Assert.Null(await enricher.Channel.BasicGetAsync(enricher.Probe, autoAck: true, TestContext.Current.CancellationToken));
        var reasons = new List<string>();
        while (await enricher.Channel.BasicGetAsync(ErrorQueue, autoAck: true, TestContext.Current.CancellationToken) is { } error)
        {
            reasons.Add(Encoding.UTF8.GetString((byte[])error.BasicProperties.Headers!["MT-Fault-Message"]!));
        }

        Assert.Contains(reasons, r => r.Contains("outside the table", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("protocol 300", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("MaxFlowsPerBatch", StringComparison.Ordinal));
    }

    private async Task<(string MessageId, FlowBatchEnriched Message)> ReceiveAsync()
    {
        var result = await enricher.NextEnrichedAsync();
        Assert.Equal(FlowWire.ContentType.MediaType, result.BasicProperties.ContentType);
        return (result.BasicProperties.MessageId!, BusBody.Enriched(result));
    }

    /// <summary>The same body with its address table cut to nothing, so every flow's index points past it.</summary>
    private static byte[] BrokenAddressTable(byte[] body)
    {
        var message = Egressd.Shared.Wire.V2.FlowBatchCollected.Parser.ParseFrom(body);
        message.Addresses = new Egressd.Shared.Wire.V2.AddressTable();
        return Google.Protobuf.MessageExtensions.ToByteArray(message);
    }

    private static FlowBatchCollected Batch(string boot, params FlowRecord[] flows) => Batch(boot, 1, flows);

    private static FlowBatchCollected Batch(string boot, long window, params FlowRecord[] flows) => new()
    {
        Header = new BatchHeader
        {
            Id = new BatchId { Node = "node-a", BootId = boot, Window = window, Part = 0, PartCount = 1 },
            Node = "node-a",
            WindowStart = DateTimeOffset.UtcNow.AddSeconds(-5),
            WindowEnd = DateTimeOffset.UtcNow,
            Source = FlowSource.Netfilter,
        },
        Flows = flows,
        DnsAnswers = [],
    };
}
