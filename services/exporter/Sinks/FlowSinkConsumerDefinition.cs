using MassTransit;

namespace Egressd.Exporter.Sinks;

/// <summary>Names a sink's queue after the sink, and gives it one active consumer and its own concurrency when the sink asks for them.</summary>
internal sealed class FlowSinkConsumerDefinition<TSink> : ConsumerDefinition<FlowSinkConsumer<TSink>>
    where TSink : class, IFlowSink
{
    public static string Queue => $"egressd-exporter-{TSink.Name}";

    public FlowSinkConsumerDefinition() => EndpointName = Queue;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<FlowSinkConsumer<TSink>> consumerConfigurator,
        IRegistrationContext context)
    {
        // RabbitMQ only: the in-memory transport has one process, hence one consumer, anyway.
        if (TSink.SingleActiveConsumer && endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SingleActiveConsumer = true;
        }

        if (TSink.ConcurrentBatches is { } batches)
        {
            endpointConfigurator.ConcurrentMessageLimit = batches;
        }
    }
}
