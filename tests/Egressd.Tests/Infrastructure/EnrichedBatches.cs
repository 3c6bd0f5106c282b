using Egressd.Contracts;
using Egressd.Shared.Bus;
using MassTransit;

namespace Egressd.Tests.Infrastructure;

/// <summary>Enriched batches as the enricher will fill them, for feeding exporters directly.</summary>
internal static class EnrichedBatches
{
    public static FlowBatchEnriched Batch(string node, string bootId, long window, params EnrichedFlow[] flows) => new()
    {
        Id = new BatchId { Node = node, BootId = bootId, Window = window, Part = 0, PartCount = 1 },
        Node = node,
        WindowStart = DateTimeOffset.UtcNow.AddSeconds(-5),
        WindowEnd = DateTimeOffset.UtcNow,
        Source = FlowSource.Replay,
        Flows = flows,
    };

    /// <summary>A flow between two pods whose namespace, node and zone are known.</summary>
    public static EnrichedFlow PodFlow(
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
    public static EnrichedFlow BareFlow(string sourceIp, string destinationIp, ulong txBytes, int protocol = 6) => new()
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
        bus.PublishBatchAsync(batch, batch.Id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
}
