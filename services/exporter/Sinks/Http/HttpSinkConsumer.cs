using Egressd.Contracts;
using Egressd.Shared.Bus;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>Feeds one HTTP sink from its own queue, dropping batches it has already applied.</summary>
internal sealed partial class HttpSinkConsumer<TSlot>(HttpSinks sinks, IOptions<ExporterOptions> options, ILogger<HttpSinkConsumer<TSlot>> logger, SinkMetrics metrics)
    : IConsumer<FlowBatchEnriched>
    where TSlot : IHttpSinkSlot
{
    public async Task Consume(ConsumeContext<FlowBatchEnriched> context)
    {
        var sink = sinks[TSlot.Index];
        var name = sink.Settings.Name;
        var batch = context.Message;
        var max = options.Value.MaxFlowsPerBatch;
        if (batch.Flows.Count > max)
        {
            throw new InvalidMessageException($"batch {batch.Id} has {batch.Flows.Count} flows, more than Egressd:Exporter:MaxFlowsPerBatch ({max})")
            {
                Reason = FaultReasons.TooManyFlows,
            };
        }

        if (!sink.Applied.TryReserve(batch.Id))
        {
            metrics.Duplicates.WithLabels(name).Inc();
            LogDuplicate(logger, name, batch.Id);
            return;
        }

        try
        {
            await sink.WriteAsync(batch, context.CancellationToken);
        }
        catch
        {
            sink.Applied.Release(batch.Id);
            throw;
        }

        sink.Applied.Complete(batch.Id);
        metrics.Applied.WithLabels(name).Inc();
    }

    [LoggerMessage(EventId = 3404, Level = LogLevel.Debug, Message = "Sink {Sink} skipped batch {BatchId}: already applied")]
    private static partial void LogDuplicate(ILogger logger, string sink, BatchId batchId);
}
