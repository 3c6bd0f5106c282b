using Egressd.Contracts;

namespace Egressd.Tests.Samples;

/// <summary>Enriched batches from <see cref="FlowRow"/>s and back, for tests and benchmarks.</summary>
internal static class EnrichedRows
{
    public static readonly BatchHeader SampleHeader = new()
    {
        Id = new BatchId { Node = "node-a", BootId = "sample", Window = 1, Part = 0, PartCount = 1 },
        Node = "node-a",
        WindowStart = DateTimeOffset.UnixEpoch,
        WindowEnd = DateTimeOffset.UnixEpoch.AddSeconds(5),
        Source = FlowSource.Netfilter,
    };

    /// <summary>The batch of <paramref name="rows"/>: each distinct end (by value) once in its table, in the order met.</summary>
    public static FlowBatchEnriched Batch(IEnumerable<FlowRow> rows, BatchHeader? header = null)
    {
        var ids = new Dictionary<FlowEndpoint, int>();
        var endpoints = new List<FlowEndpoint>();
        var flows = rows.Select(r => new EnrichedFlow
        {
            Flow = r.Flow,
            SourceEndpoint = Index(r.Source),
            DestinationEndpoint = Index(r.Destination),
            DestinationService = r.DestinationService,
            DestinationDnsName = r.DestinationDnsName,
            TrafficClass = r.TrafficClass,
            Cost = r.Cost,
        }).ToArray();
        return new FlowBatchEnriched { Header = header ?? SampleHeader, Endpoints = [.. endpoints], Flows = flows };

        int Index(FlowEndpoint endpoint)
        {
            if (!ids.TryGetValue(endpoint, out var id))
            {
                id = endpoints.Count;
                ids.Add(endpoint, id);
                endpoints.Add(endpoint);
            }

            return id;
        }
    }

    /// <summary>The batch's flows with their ends looked up: what a consumer reads, to compare.</summary>
    public static FlowRow[] Rows(FlowBatchEnriched batch) =>
    [
        .. batch.Flows.Select(f => new FlowRow
        {
            Flow = f.Flow,
            Source = batch.Endpoints[f.SourceEndpoint],
            Destination = batch.Endpoints[f.DestinationEndpoint],
            DestinationService = f.DestinationService,
            DestinationDnsName = f.DestinationDnsName,
            TrafficClass = f.TrafficClass,
            Cost = f.Cost,
        }),
    ];
}
