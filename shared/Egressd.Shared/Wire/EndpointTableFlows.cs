using System.Collections;
using Egressd.Contracts;

namespace Egressd.Shared.Wire;

/// <summary>
/// The flows of an enriched batch with the batch's endpoint table: every flow's source and
/// destination is one of <see cref="Endpoints"/>, and <see cref="SourceIndex"/> and
/// <see cref="DestinationIndex"/> say which. A sink that derives something per endpoint (the
/// Prometheus sink's label ids) derives it once per table entry and finds it by index, with no
/// lookup per flow. <see cref="FlowWire.DecodeEnriched"/> hands out the wire's own table;
/// <see cref="Of"/> builds one for flows from anywhere else (the first release's JSON).
/// </summary>
public sealed class EndpointTableFlows : IReadOnlyList<EnrichedFlow>
{
    private readonly EnrichedFlow[] flows;
    private readonly FlowEndpoint[] endpoints;
    private readonly IReadOnlyList<uint> sources;
    private readonly IReadOnlyList<uint> destinations;

    /// <param name="sources">Each flow's source endpoint, an index into <paramref name="endpoints"/> (checked by the caller).</param>
    /// <param name="destinations">Each flow's destination endpoint, likewise.</param>
    internal EndpointTableFlows(EnrichedFlow[] flows, FlowEndpoint[] endpoints, IReadOnlyList<uint> sources, IReadOnlyList<uint> destinations)
    {
        this.flows = flows;
        this.endpoints = endpoints;
        this.sources = sources;
        this.destinations = destinations;
    }

    public IReadOnlyList<FlowEndpoint> Endpoints => endpoints;

    public int Count => flows.Length;

    public EnrichedFlow this[int index] => flows[index];

    /// <summary>
    /// These flows with their table: the list itself when it has one, else a table of the distinct
    /// endpoint objects (by reference: the first release's JSON gives each flow endpoints of its own).
    /// </summary>
    public static EndpointTableFlows Of(IReadOnlyList<EnrichedFlow> flows)
    {
        if (flows is EndpointTableFlows table)
        {
            return table;
        }

        var all = flows as EnrichedFlow[] ?? [.. flows];
        var ids = new Dictionary<FlowEndpoint, uint>(ReferenceEqualityComparer.Instance);
        var endpoints = new List<FlowEndpoint>();
        var sources = new uint[all.Length];
        var destinations = new uint[all.Length];
        for (var i = 0; i < all.Length; i++)
        {
            sources[i] = Id(all[i].Source);
            destinations[i] = Id(all[i].Destination);
        }

        return new EndpointTableFlows(all, [.. endpoints], sources, destinations);

        uint Id(FlowEndpoint endpoint)
        {
            if (!ids.TryGetValue(endpoint, out var id))
            {
                id = (uint)endpoints.Count;
                ids.Add(endpoint, id);
                endpoints.Add(endpoint);
            }

            return id;
        }
    }

    public int SourceIndex(int flow) => (int)sources[flow];

    public int DestinationIndex(int flow) => (int)destinations[flow];

    public IEnumerator<EnrichedFlow> GetEnumerator() => ((IEnumerable<EnrichedFlow>)flows).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
