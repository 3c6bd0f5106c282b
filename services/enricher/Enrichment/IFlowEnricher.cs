using Egressd.Contracts;

namespace Egressd.Enricher.Enrichment;

/// <summary>Turns a collected batch into an enriched one. Pure: same input and caches, same output.</summary>
public interface IFlowEnricher
{
    FlowBatchEnriched Enrich(FlowBatchCollected batch);
}
