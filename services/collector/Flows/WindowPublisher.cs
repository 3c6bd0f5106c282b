using Egressd.Contracts;

namespace Egressd.Collector.Flows;

/// <summary>
/// The collector's read → window → publish cycle, with its delivery rule: a window
/// is frozen (its content and batch ids fixed) and re-sent unchanged until every part is
/// confirmed; reads that happen meanwhile fold into the next window. A publish that timed out but
/// did reach the broker is therefore re-sent with the same id and the same content, and sinks drop
/// the copy; nothing is lost and no id is reused for other content. Memory stays bounded by keys:
/// one frozen window plus one pending set.
/// </summary>
internal sealed partial class WindowPublisher(
    IFlowReader reader,
    PendingFlows pending,
    IBatchPublisher publisher,
    TimeProvider time,
    string node,
    int maxFlowsPerPart,
    ILogger logger)
{
    private List<FlowBatchCollected>? frozen;
    private long window;

    // A window covers the time from the read before its first deltas to its last read.
    private DateTimeOffset lastRead = time.GetUtcNow();
    private DateTimeOffset? pendingSince;

    /// <summary>Random per process start, so window numbers never collide across restarts.</summary>
    public string BootId { get; } = Guid.NewGuid().ToString("N")[..16];

    /// <summary>Flow keys waiting: pending plus the frozen window's.</summary>
    public int PendingKeyCount => pending.KeyCount + (frozen?.Sum(p => p.Flows.Count) ?? 0);

    /// <summary>
    /// Reads once, folds the deltas in and tries to publish. A failed read or publish is logged
    /// and retried at the next cycle; only <see cref="FlowSourceUnavailableException"/> escapes.
    /// </summary>
    public async Task RunCycleAsync(CancellationToken cancellationToken)
    {
        await ReadAsync(cancellationToken);
        if (frozen is null && !pending.IsEmpty)
        {
            frozen = [.. pending.Freeze(node, BootId, ++window, reader.Source, pendingSince ?? lastRead, lastRead, maxFlowsPerPart)];
            pendingSince = null;
        }

        await PublishFrozenAsync(cancellationToken);
        CollectorMetrics.PendingKeys.Set(PendingKeyCount);
    }

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var previous = lastRead;
        try
        {
            await reader.ReadAsync(cancellationToken);
            lastRead = time.GetUtcNow();
            if (!pending.IsEmpty)
            {
                pendingSince ??= previous;
            }
        }
        catch (Exception ex) when (ex is not FlowSourceUnavailableException && (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
        {
            CollectorMetrics.ReadFailures.Inc();
            LogReadFailed(logger, reader.Source, ex.Message, ex);
        }
        finally
        {
            CollectorMetrics.ReadDuration.Observe(time.GetElapsedTime(started).TotalSeconds);
        }
    }

    private async Task PublishFrozenAsync(CancellationToken cancellationToken)
    {
        while (frozen is { Count: > 0 })
        {
            var part = frozen[0];
            try
            {
                await publisher.PublishAsync(part, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                CollectorMetrics.PublishFailures.Inc();
                LogPublishFailed(logger, part.Id.ToString(), part.Flows.Count, PendingKeyCount, ex.GetType().Name, ex.Message);
                return;
            }

            CollectorMetrics.PartsPublished.Inc();
            frozen.RemoveAt(0);
            if (frozen.Count == 0)
            {
                CollectorMetrics.WindowsPublished.Inc();
                LogWindowPublished(logger, part.Id.Window, part.Id.PartCount, part.WindowEnd - part.WindowStart);
                frozen = null;
            }
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Reading {Source} flows failed: {Reason}")]
    private static partial void LogReadFailed(ILogger logger, FlowSource source, string reason, Exception exception);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning,
        Message = "Publishing batch {BatchId} ({Flows} flows) failed ({ExceptionType}: {Reason}); it is re-sent unchanged at the next read, {PendingKeys} keys wait")]
    private static partial void LogPublishFailed(ILogger logger, string batchId, int flows, int pendingKeys, string exceptionType, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "Window {Window} published in {Parts} parts, covering {Span}")]
    private static partial void LogWindowPublished(ILogger logger, long window, int parts, TimeSpan span);
}
