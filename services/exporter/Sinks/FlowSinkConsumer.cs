using Egressd.Contracts;
using Egressd.Shared.Bus;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks;

/// <summary>Feeds one sink from its own queue, dropping batches it has already applied.</summary>
internal sealed partial class FlowSinkConsumer<TSink>(TSink sink, AppliedBatches<TSink> applied, IOptions<ExporterOptions> options, ILogger<FlowSinkConsumer<TSink>> logger, SinkMetrics metrics)
    : IConsumer<FlowBatchEnriched>
    where TSink : class, IFlowSink
{
    public async Task Consume(ConsumeContext<FlowBatchEnriched> context)
    {
        var batch = context.Message;
        var max = options.Value.MaxFlowsPerBatch;
        if (batch.Flows.Count > max)
        {
            // Before the dedup reservation: a refused batch is never marked applied.
            throw new InvalidMessageException($"batch {batch.Id} has {batch.Flows.Count} flows, more than Egressd:Exporter:MaxFlowsPerBatch ({max})")
            {
                Reason = FaultReasons.TooManyFlows,
            };
        }

        if (!applied.TryReserve(batch.Id))
        {
            metrics.Duplicates.WithLabels(TSink.Name).Inc();
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
        metrics.Applied.WithLabels(TSink.Name).Inc();
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Sink {Sink} skipped batch {BatchId}: already applied")]
    private static partial void LogDuplicate(ILogger logger, string sink, BatchId batchId);
}
