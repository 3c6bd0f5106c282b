using Egressd.Contracts;
using Egressd.Enricher.Enrichment;
using Egressd.Shared.Bus;
using MassTransit;
using Prometheus;

namespace Egressd.Enricher;

/// <summary>
/// Enriches each collected batch and republishes it with the same batch id. The endpoint's
/// outbox holds the publish until this method returns, so a failure publishes nothing and the
/// redelivery produces the same message again.
/// </summary>
internal sealed class FlowBatchCollectedConsumer(IFlowEnricher enricher) : IConsumer<FlowBatchCollected>
{
    private static readonly Counter Batches = Metrics.CreateCounter(
        "egressd_enricher_batches_total", "Collected batches enriched and republished.");
    private static readonly Counter Flows = Metrics.CreateCounter(
        "egressd_enricher_flows_total", "Flows enriched and republished.");

    public async Task Consume(ConsumeContext<FlowBatchCollected> context)
    {
        var enriched = enricher.Enrich(context.Message);
        var messageId = enriched.Id.ToMessageId();
        // Mandatory: with no exporter queue bound the broker returns the batch, the consume fails
        // and is retried, instead of the batch vanishing.
        await context.Publish(enriched, publish =>
        {
            publish.MessageId = messageId;
            publish.Mandatory = true;
        });
        Batches.Inc();
        Flows.Inc(enriched.Flows.Count);
    }
}

internal sealed class FlowBatchCollectedConsumerDefinition : ConsumerDefinition<FlowBatchCollectedConsumer>
{
    public const string Queue = "egressd-enricher";

    public FlowBatchCollectedConsumerDefinition() => EndpointName = Queue;
}
