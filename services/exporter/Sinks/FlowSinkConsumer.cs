using Egressd.Contracts;
using MassTransit;

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
