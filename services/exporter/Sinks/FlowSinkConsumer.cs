using Egressd.Contracts;
using Egressd.Shared.Bus;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks;

/// <summary>Feeds one sink from its own queue, dropping batches it has already applied. One instance a queue.</summary>
internal sealed partial class FlowSinkConsumer : IConsumer<FlowBatchEnriched>
{
    private readonly string sink;
    private readonly IFlowSink target;
    private readonly AppliedBatches applied;
    private readonly int maxFlowsPerBatch;
    private readonly TimeProvider time;
    private readonly SinkMetrics metrics;
    private readonly ILogger logger;

    public FlowSinkConsumer(string sink, IFlowSink target, AppliedBatches applied, int maxFlowsPerBatch, TimeProvider time, SinkMetrics metrics, ILogger logger)
    {
        this.sink = sink;
        this.target = target;
        this.applied = applied;
        this.maxFlowsPerBatch = maxFlowsPerBatch;
        this.time = time;
        this.metrics = metrics;
        this.logger = logger;
        // Every consuming sink's counters are on /metrics from the start, at zero, not from its first batch.
        metrics.Declare(sink);
    }

    /// <summary>The consumer of <paramref name="sink"/>, with the exporter's limits; <paramref name="applied"/> when the sink keeps its own, else a new one.</summary>
    public static FlowSinkConsumer For(IServiceProvider services, string sink, IFlowSink target, AppliedBatches? applied = null)
    {
        var options = services.GetRequiredService<IOptions<ExporterOptions>>().Value;
        return new FlowSinkConsumer(sink, target, applied ?? new AppliedBatches(options.DedupWindow), options.MaxFlowsPerBatch, services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<SinkMetrics>(), services.GetRequiredService<ILogger<FlowSinkConsumer>>());
    }

    public async Task Consume(ConsumeContext<FlowBatchEnriched> context)
    {
        var batch = context.Message;
        if (batch.Flows.Count > maxFlowsPerBatch)
        {
            // Before the dedup reservation: a refused batch is never marked applied.
            throw new InvalidMessageException($"batch {batch.Header.Id} has {batch.Flows.Count} flows, more than Egressd:Exporter:MaxFlowsPerBatch ({maxFlowsPerBatch})")
            {
                Reason = FaultReasons.TooManyFlows,
            };
        }

        var id = batch.Header.Id.ToString();
        if (!applied.TryReserve(id))
        {
            metrics.Duplicates.WithLabels(sink).Inc();
            LogDuplicate(logger, sink, batch.Header.Id);
            return;
        }

        try
        {
            await target.WriteAsync(batch, context.CancellationToken);
        }
        catch
        {
            applied.Release(id);
            throw;
        }

        applied.Complete(id);
        metrics.Applied.WithLabels(sink).Inc();
        // Clocks of two machines: a collector ahead of the exporter shows as no lag rather than a negative one.
        metrics.Lag.WithLabels(sink).Observe(Math.Max(0, (time.GetUtcNow() - batch.Header.WindowEnd).TotalSeconds));
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Sink {Sink} skipped batch {BatchId}: already applied")]
    private static partial void LogDuplicate(ILogger logger, string sink, BatchId batchId);
}
