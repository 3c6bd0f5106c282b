using MassTransit;

namespace Egressd.Enricher;

internal sealed class FlowBatchCollectedConsumerDefinition : ConsumerDefinition<FlowBatchCollectedConsumer>
{
    public const string Queue = "egressd-enricher";

    public FlowBatchCollectedConsumerDefinition() => EndpointName = Queue;
}
