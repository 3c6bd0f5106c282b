using Egressd.Contracts;
using Egressd.Shared.Wire;

namespace Egressd.Collector.Flows;

/// <summary>
/// The collector's read → window → publish cycle, with its delivery rule: a window
/// is frozen (its content and batch ids fixed) and re-sent unchanged until every part is
/// confirmed; reads that happen meanwhile fold into the next window. A publish that timed out but
/// did reach the broker is therefore re-sent with the same id and the same content, and sinks drop
/// the copy; nothing is lost and no id is reused for other content. Memory stays bounded by keys:
/// one frozen window plus one pending set (two frozen windows only at shutdown). A frozen part is
/// held as its encoded body (<see cref="EncodedFlowBatch"/>), a fifth of its records' size, and each
/// re-send is those same bytes.
/// <para>
/// With a checkpoint, a window is saved with the source's counters as of its read before its first
/// publish, so a process that dies at any point after the freeze leaves the next one both the
/// counters to continue from and the parts to re-send under the same ids.
/// </para>
/// </summary>
internal sealed partial class WindowPublisher
{
    /// <summary>Confirmed bodies from which a window is worth a full collection (ten 100 KB parts).</summary>
    private const long LargeWindowBytes = 1 << 20;

    private readonly IFlowReader reader;
    private readonly PendingFlows pending;
    private readonly IBatchPublisher publisher;
    private readonly TimeProvider time;
    private readonly string node;
    private readonly int maxFlowsPerPart;
    private readonly ILogger logger;
    private readonly IWindowCheckpoint? checkpoint;
    private readonly List<EncodedFlowBatch> frozen = [];

    // Encoded bodies confirmed since the frozen list was last empty.
    private long confirmedBytes;
    private long window;
    private bool saved;
    private bool foldWarned;

    private readonly CollectorMetrics metrics;

    // A window covers the time from the read before its first deltas to its last read.
    private DateTimeOffset lastRead;
    private DateTimeOffset? pendingSince;

    public WindowPublisher(IFlowReader reader, PendingFlows pending, IBatchPublisher publisher, TimeProvider time, string node, int maxFlowsPerPart, ILogger logger, CollectorMetrics metrics)
    {
        this.metrics = metrics;
        this.reader = reader;
        this.pending = pending;
        this.publisher = publisher;
        this.time = time;
        this.node = node;
        this.maxFlowsPerPart = maxFlowsPerPart;
        this.logger = logger;
        lastRead = time.GetUtcNow();
        checkpoint = reader.Checkpoint;
        if (checkpoint is { Unconfirmed.Count: > 0 } restored)
        {
            // Parts a previous process froze: first out, with their own ids.
            frozen.AddRange(restored.Unconfirmed);
        }
    }

    /// <summary>Random per process start, so window numbers never collide across restarts.</summary>
    public string BootId { get; } = Guid.NewGuid().ToString("N")[..16];

    /// <summary>Flow keys waiting: pending plus the frozen windows'.</summary>
    public int PendingKeyCount => pending.KeyCount + FrozenKeyCount;

    /// <summary>What becomes of keys left unconfirmed at shutdown, in words for the last log line.</summary>
    public string Checkpointed => checkpoint is null
        ? "lost with this process: no restart checkpoint"
        : "kept in the restart checkpoint and sent again at the next start";

    private int FrozenKeyCount => frozen.Sum(p => p.FlowCount);

    /// <summary>
    /// Reads once, folds the deltas in and tries to publish. A failed read or publish is logged
    /// and retried at the next cycle; only <see cref="FlowSourceUnavailableException"/> escapes.
    /// </summary>
    public async Task RunCycleAsync(CancellationToken cancellationToken)
    {
        await ReadAsync(cancellationToken);
        WarnIfFolded();
        if (frozen.Count == 0)
        {
            FreezePending();
        }

        if (!saved)
        {
            // The first checkpoint of this process, even without traffic: it holds the baselines taken at start.
            Save();
        }

        await PublishFrozenAsync(cancellationToken);
        metrics.PendingKeys.Set(PendingKeyCount);
    }

    /// <summary>
    /// The shutdown cycle: reads once more and publishes everything read, the frozen window and
    /// the pending deltas (frozen as a window of their own even while an older one waits), then
    /// leaves the checkpoint with whatever the broker did not confirm. Connections that end while
    /// it publishes are still heard (the source's destroy events, with their final counters): what
    /// they bring is published once more while the source still listens, and what ends during that
    /// publish once more after it stopped listening, or kept in the checkpoint for the next start.
    /// </summary>
    public async Task<ShutdownFlush> FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ReadAsync(cancellationToken);
        }
        finally
        {
            FreezePending();
            if (!saved)
            {
                Save();
            }
        }

        var offered = FrozenKeyCount;
        var ended = 0;
        ulong endedBytes = 0;
        var stopped = false;
        void FreezeEnded(bool last)
        {
            ended += reader.ReadEnded(last);
            stopped |= last;
            if (pending.IsEmpty)
            {
                return;
            }

            endedBytes += pending.Bytes();
            pendingSince ??= lastRead;
            lastRead = time.GetUtcNow();
            var before = FrozenKeyCount;
            FreezePending();
            offered += FrozenKeyCount - before;
        }

        try
        {
            await PublishFrozenAsync(cancellationToken);
            FreezeEnded(last: false);
            await PublishFrozenAsync(cancellationToken);
            FreezeEnded(last: true);
            await PublishFrozenAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Out of time: what was heard still goes into the checkpoint, below.
        }
        finally
        {
            if (!stopped)
            {
                FreezeEnded(last: true);
            }
        }

        var unsent = FrozenKeyCount;
        metrics.PendingKeys.Set(unsent);
        return new ShutdownFlush(offered - unsent, unsent, ended, endedBytes);
    }

    /// <summary>
    /// A large window's bodies sit on the large object heap, which only a full collection frees, and
    /// they all became garbage at once. Collected now, their room is free before the next window's
    /// bodies are made, instead of the heap growing by a whole window while the GC waits for its
    /// budget, which is what set the collector's peak memory on large windows.
    /// Not compacting: the next window reuses the freed room. Small windows leave it to the GC.
    /// glibc's allocator is then asked to give back what the runtime's native code freed (the JIT's
    /// work while the collector warms up, mostly), which it otherwise keeps in the middle of its
    /// heaps until asked.
    /// </summary>
    private void ReleaseConfirmedBodies()
    {
        if (confirmedBytes >= LargeWindowBytes)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
            if (OperatingSystem.IsLinux())
            {
                Native.Libc.TrimNativeHeap();
            }
        }

        confirmedBytes = 0;
    }

    private void FreezePending()
    {
        if (pending.IsEmpty)
        {
            return;
        }

        frozen.AddRange(pending.FreezeEncoded(node, BootId, ++window, reader.Source, pendingSince ?? lastRead, lastRead, maxFlowsPerPart, reader.CounterDirections));
        pendingSince = null;
        foldWarned = false;
        Save();
    }

    /// <summary>Once per window: folding goes on for as long as the keys stay over the cap, and the metric counts every fold.</summary>
    private void WarnIfFolded()
    {
        if (pending.FoldedDeltas > 0 && !foldWarned)
        {
            foldWarned = true;
            LogKeysFolded(logger, pending.MaxKeys, window + 1, pending.FoldedDeltas, pending.FoldedBytes, PendingKeyCount);
        }
    }

    private void Save()
    {
        // Only with nothing pending: the counters saved are then those of the frozen parts plus all confirmed.
        if (checkpoint is not null && pending.IsEmpty)
        {
            checkpoint.Save(frozen);
            saved = true;
        }
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
            metrics.ReadFailures.Inc();
            LogReadFailed(logger, reader.Source, ex.Message, ex);
        }
        finally
        {
            metrics.ReadDuration.Observe(time.GetElapsedTime(started).TotalSeconds);
        }
    }

    private async Task PublishFrozenAsync(CancellationToken cancellationToken)
    {
        while (frozen.Count > 0)
        {
            var part = frozen[0];
            try
            {
                await publisher.PublishAsync(part, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                metrics.PublishFailures.Inc();
                LogPublishFailed(logger, part.Header.Id.ToString(), part.FlowCount, PendingKeyCount, ex.GetType().Name, ex.Message);
                return;
            }

            metrics.PartsPublished.Inc();
            frozen.RemoveAt(0);
            confirmedBytes += part.Body.Length;
            var id = part.Header.Id;
            if (frozen.Count == 0 || frozen[0].Header.Id.Window != id.Window || frozen[0].Header.Id.BootId != id.BootId)
            {
                metrics.WindowsPublished.Inc();
                LogWindowPublished(logger, id.Window, id.PartCount, part.Header.WindowEnd - part.Header.WindowStart);
            }

            if (frozen.Count == 0)
            {
                // Every part in the checkpoint on disk (saved by this process or left by the last) is confirmed.
                checkpoint?.Confirmed();
                ReleaseConfirmedBodies();
            }
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Reading {Source} flows failed: {Reason}")]
    private static partial void LogReadFailed(ILogger logger, FlowSource source, string reason, Exception exception);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning,
        Message = "Publishing batch {BatchId} ({Flows} flows) failed ({ExceptionType}: {Reason}); it is re-sent unchanged at the next read, {PendingKeys} keys wait")]
    private static partial void LogPublishFailed(ILogger logger, string batchId, int flows, int pendingKeys, string exceptionType, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning,
        Message = "More than {MaxKeys} flow keys are pending (Egressd:Collector:MaxPendingKeys): new keys of window {Window} are summed into grouped destinations, bytes kept, detail lost; so far {Deltas} deltas, {Bytes} bytes, {PendingKeys} keys wait (egressd_collector_folded_deltas_total counts the rest)")]
    private static partial void LogKeysFolded(ILogger logger, int maxKeys, long window, long deltas, ulong bytes, int pendingKeys);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "Window {Window} published in {Parts} parts, covering {Span}")]
    private static partial void LogWindowPublished(ILogger logger, long window, int parts, TimeSpan span);
}
