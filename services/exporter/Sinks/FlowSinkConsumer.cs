using Egressd.Contracts;
using MassTransit;
using Prometheus;

namespace Egressd.Exporter.Sinks;

/// <summary>Feeds one sink from its own queue, dropping batches it has already applied.</summary>
internal sealed partial class FlowSinkConsumer<TSink>(TSink sink, AppliedBatches<TSink> applied, ILogger<FlowSinkConsumer<TSink>> logger)
    : IConsumer<FlowBatchEnriched>
    where TSink : class, IFlowSink
{
    public async Task Consume(ConsumeContext<FlowBatchEnriched> context)
    {
        var batch = context.Message;
        if (!applied.TryReserve(batch.Id))
        {
            SinkMetrics.Duplicates.WithLabels(TSink.Name).Inc();
            LogDuplicate(logger, TSink.Name, batch.Id);
            return;
        }

        try
        {
            await sink.WriteAsync(batch, context.CancellationToken);
        }
        catch
        {
            applied.Release(batch.Id);
            throw;
        }

        applied.Complete(batch.Id);
        SinkMetrics.Applied.WithLabels(TSink.Name).Inc();
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Sink {Sink} skipped batch {BatchId}: already applied")]
    private static partial void LogDuplicate(ILogger logger, string sink, BatchId batchId);
}

/// <summary>Every sink's consumer counts into these, labelled with the sink's name.</summary>
internal static class SinkMetrics
{
    public static readonly Counter Applied = Metrics.CreateCounter(
        "egressd_exporter_batches_applied_total", "Enriched batches a sink applied.", "sink");

    public static readonly Counter Duplicates = Metrics.CreateCounter(
        "egressd_exporter_duplicates_skipped_total", "Redelivered batches a sink had already applied and dropped.", "sink");
}

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
    }
}
