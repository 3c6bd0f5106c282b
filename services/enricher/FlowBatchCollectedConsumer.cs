using Egressd.Contracts;
using Egressd.Enricher.Cluster;
using Egressd.Enricher.Enrichment;
using Egressd.Shared.Bus;
using MassTransit;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Egressd.Enricher;

/// <summary>
/// Enriches each collected batch and republishes it with the same batch id. The endpoint's
/// outbox holds the publish until this method returns, so a failure publishes nothing and the
/// redelivery produces the same message again. Batches wait for the cluster caches' first sync:
/// enriching against an empty cache would attribute nothing.
/// </summary>
internal sealed class FlowBatchCollectedConsumer(ClusterState cluster, FlowEnricher enricher, IOptions<BusOptions> bus) : IConsumer<FlowBatchCollected>
{
    private static readonly Counter Batches = Metrics.CreateCounter(
        "egressd_enricher_batches_total", "Collected batches enriched and republished.");
    private static readonly Counter Skipped = Metrics.CreateCounter(
        "egressd_enricher_batches_skipped_total", "Collected batches skipped, by reason.", "reason");
    private static readonly Counter Refused = Metrics.CreateCounter(
        "egressd_enricher_batches_refused_total", "Collected batches refused as invalid (sent to the _error queue).");
    private static readonly Counter Flows = Metrics.CreateCounter(
        "egressd_enricher_flows_total", "Flows enriched and republished, by traffic class.", "traffic_class");
    private static readonly Counter Unattributed = Metrics.CreateCounter(
        "egressd_enricher_unattributed_flows_total", "Flows kept without a source pod, by reason.", "reason");

    public async Task Consume(ConsumeContext<FlowBatchCollected> context)
    {
        var batch = context.Message;
        if (batch.Flows is null || batch.Flows.Count == 0)
        {
            // Nothing to enrich or count: a window with DNS answers only, or a malformed empty one.
            Skipped.WithLabels("empty").Inc();
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
            Refused.Inc();
            throw new InvalidMessageException(ex.Message, ex);
        }

        // Through the consume context, so the outbox holds it until this method returns; mandatory,
        // so with no exporter queue bound the consume fails and is retried instead of the batch vanishing.
        await context.PublishBatchAsync(enriched, enriched.Id, bus.Value.PublishTimeout, context.CancellationToken);
        Batches.Inc();
        for (var i = 0; i < stats.Classes.Length; i++)
        {
            if (stats.Classes[i] > 0)
            {
                Flows.WithLabels(((TrafficClass)i).Name()).Inc(stats.Classes[i]);
            }
        }

        Unattributed.WithLabels("source_unknown").Inc(stats.SourceUnknown);
        Unattributed.WithLabels("source_host_network").Inc(stats.SourceHostNetwork);
    }
}

internal sealed class FlowBatchCollectedConsumerDefinition : ConsumerDefinition<FlowBatchCollectedConsumer>
{
    public const string Queue = "egressd-enricher";

    public FlowBatchCollectedConsumerDefinition() => EndpointName = Queue;
}
