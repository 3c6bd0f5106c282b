using Egressd.Contracts;
using Egressd.Shared.Wire;

namespace Egressd.Enricher.Enrichment;

/// <summary>
/// The endpoint table of one batch as it is enriched. The cluster state hands out one shared
/// object per pod and per node, so by reference is what makes each end cost a table entry the
/// first time it is met rather than a comparison of seven strings per flow.
/// </summary>
internal sealed class EndpointTableBuilder
{
    private readonly IdentityIds<FlowEndpoint> ids = new();
    private readonly List<FlowEndpoint> endpoints = [];

    /// <summary>The endpoint's index in the table, adding it when it is new.</summary>
    public int IndexOf(FlowEndpoint endpoint)
    {
        if (!ids.TryGet(endpoint, out var id))
        {
            id = (uint)endpoints.Count;
            ids.Add(endpoint, id);
            endpoints.Add(endpoint);
        }

        return (int)id;
    }

    public FlowEndpoint[] ToArray() => [.. endpoints];
}
