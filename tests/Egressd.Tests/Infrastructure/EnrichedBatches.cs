using Egressd.Contracts;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Shared.Bus;
using Egressd.Tests.Samples;
using MassTransit;

namespace Egressd.Tests.Infrastructure;

/// <summary>Enriched batches as the enricher will fill them, for feeding exporters directly.</summary>
internal static class EnrichedBatches
{
    public static FlowBatchEnriched Batch(string node, string bootId, long window, params FlowRow[] flows) =>
        EnrichedRows.Batch(flows, new BatchHeader
        {
            Id = new BatchId { Node = node, BootId = bootId, Window = window, Part = 0, PartCount = 1 },
            Node = node,
            WindowStart = DateTimeOffset.UtcNow.AddSeconds(-5),
            WindowEnd = DateTimeOffset.UtcNow,
            Source = FlowSource.Replay,
        });

    /// <summary>Applies <paramref name="flows"/> to the store as one batch.</summary>
    public static FlowSeriesStore.ApplyResult Apply(this FlowSeriesStore store, IReadOnlyList<FlowRow> flows, FlowCounterDirections directions = FlowCounterDirections.Separate) =>
        store.Apply(EnrichedRows.Batch(flows, EnrichedRows.SampleHeader with { CounterDirections = directions }));

    /// <summary>A label's value for one flow, as the store reads it.</summary>
    public static string ValueOf(this FlowLabel label, FlowRow flow, FlowLabelContext context)
    {
        var batch = EnrichedRows.Batch([flow]);
        return label.Value(batch.Flows[0], batch.SourceOf(0), batch.DestinationOf(0), context);
    }

    /// <summary>A flow between two pods whose namespace, node and zone are known.</summary>
    public static FlowRow PodFlow(
        string sourceNamespace, string sourcePod, string destinationNamespace, string destinationPod,
        ulong txBytes, ulong rxBytes = 0, ulong txPackets = 1, ulong rxPackets = 1,
        string sourceIp = "10.244.1.10", string destinationIp = "10.244.2.20", int protocol = 6,
        string sourceZone = "zone-a", string destinationZone = "zone-b",
        TrafficClass trafficClass = TrafficClass.CrossZone) => new()
        {
            Flow = new FlowRecord
            {
                SourceIp = IpAddr.Parse(sourceIp),
                DestinationIp = IpAddr.Parse(destinationIp),
                Protocol = protocol,
                TxBytes = txBytes,
                RxBytes = rxBytes,
                TxPackets = txPackets,
                RxPackets = rxPackets,
            },
            Source = new FlowEndpoint
            {
                Pod = sourcePod,
                Namespace = sourceNamespace,
                Node = "node-a",
                Zone = sourceZone,
                Region = "region-1",
                WorkloadKind = "Deployment",
                WorkloadName = sourcePod.Split('-')[0],
            },
            Destination = new FlowEndpoint
            {
                Pod = destinationPod,
                Namespace = destinationNamespace,
                Node = "node-b",
                Zone = destinationZone,
                Region = "region-1",
                WorkloadKind = "StatefulSet",
                WorkloadName = destinationPod.Split('-')[0],
            },
            TrafficClass = trafficClass,
        };

    /// <summary>A flow the enricher knows nothing about (as today's enricher leaves most of them).</summary>
    public static FlowRow BareFlow(string sourceIp, string destinationIp, ulong txBytes, int protocol = 6) => new()
    {
        Flow = new FlowRecord
        {
            SourceIp = IpAddr.Parse(sourceIp),
            DestinationIp = IpAddr.Parse(destinationIp),
            Protocol = protocol,
            TxBytes = txBytes,
            RxBytes = 0,
            TxPackets = 1,
            RxPackets = 0,
        },
        Source = new FlowEndpoint(),
        Destination = new FlowEndpoint(),
        TrafficClass = TrafficClass.Unknown,
    };

    /// <summary>Publishes with the batch's message id, as the enricher does, so a second copy is a redelivery.</summary>
    public static Task PublishAsync(this IBus bus, FlowBatchEnriched batch) =>
        bus.PublishBatchAsync(batch, batch.Header.Id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
}
