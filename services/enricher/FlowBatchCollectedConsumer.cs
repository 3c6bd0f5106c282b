using Egressd.Contracts;
using Egressd.Enricher.Cluster;
using Egressd.Enricher.Enrichment;
using Egressd.Shared.Bus;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Egressd.Enricher;

/// <summary>
/// Enriches each collected batch and republishes it with the same batch id. The endpoint's
/// outbox holds the publish until this method returns, so a failure publishes nothing and the
/// redelivery produces the same message again. Batches wait for the cluster caches' first sync:
/// enriching against an empty cache would attribute nothing.
/// </summary>
internal sealed class FlowBatchCollectedConsumer(ClusterState cluster, FlowEnricher enricher, IOptions<BusOptions> bus, EnricherMetrics metrics) : IConsumer<FlowBatchCollected>
{
    public async Task Consume(ConsumeContext<FlowBatchCollected> context)
    {
        var batch = context.Message;
        if (batch.Flows is null || batch.Flows.Count == 0)
        {
            // Its answers still name addresses in other batches, from this node or any other.
            enricher.RecordAnswers(batch);
            // Nothing to enrich or count: a window with DNS answers only, or a malformed empty one.
            metrics.Skipped.WithLabels("empty").Inc();
            return;
        }

        await cluster.WaitForSyncAsync(context.CancellationToken);
        var stats = new EnrichmentStats();
        FlowBatchEnriched enriched;
        try
        {
            enriched = enricher.Enrich(batch, cluster.Snapshot(), stats);
        }
        catch (InvalidBatchException ex)
        {
            metrics.Refused.Inc();
            throw new InvalidMessageException(ex.Message, ex) { Reason = ex.Reason };
        }

        // Through the consume context, so the outbox holds it until this method returns; mandatory,
        // so with no exporter queue bound the consume fails and is retried instead of the batch vanishing.
        await context.PublishBatchAsync(enriched, enriched.Header.Id, bus.Value.PublishTimeout, context.CancellationToken);
        metrics.Batches.Inc();
        for (var i = 0; i < stats.Classes.Length; i++)
        {
            if (stats.Classes[i] > 0)
            {
                metrics.Flows.WithLabels(((TrafficClass)i).Name()).Inc(stats.Classes[i]);
            }
        }

        metrics.Unattributed.WithLabels("source_unknown").Inc(stats.SourceUnknown);
        metrics.Unattributed.WithLabels("source_host_network").Inc(stats.SourceHostNetwork);
    }
}
