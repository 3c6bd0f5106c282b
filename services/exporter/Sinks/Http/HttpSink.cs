using System.Security.Cryptography;
using System.Text;
using Egressd.Contracts;
using Egressd.Shared.Bus;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// One named HTTP sink: groups bus batches into requests and returns from <see cref="WriteAsync"/>
/// for a batch only once the request that carried its flows was answered 2xx.
/// </summary>
/// <remarks>
/// <para>
/// Nothing lost: with an interval, the consume of every bus batch is held open (the message stays
/// unacknowledged on the broker) until its interval's request succeeds. The queue's prefetch and
/// concurrency are raised to <c>maxPendingBatches</c> so an interval's batches can all be held at
/// once. A crash at any point (<c>kill -9</c> mid-retry included) leaves them unacknowledged, and
/// the broker delivers them again to the next exporter. Nothing is written anywhere else, so there
/// is no second copy to keep in step with the broker.
/// </para>
/// <para>
/// Same key on retry and redelivery: the <c>Idempotency-Key</c> is the sink's name and a hash of
/// the batch ids (and flow ranges) in the request, and requests hold whole batches in batch-id
/// order, so the key is as stable as the grouping. The grouping therefore depends on the batches,
/// not on when the flusher happened to tick: a batch belongs to the interval bucket its collector
/// window ended in (<c>WindowEnd</c>), and a bucket's group is sent only once the bucket has
/// closed and then <c>flushDelay</c> has passed with no batch arriving for it. A retry sends the
/// very same request. The group's consumes are acknowledged only after its 2xx, so after a crash
/// the broker delivers exactly the group's batches again, together, and they regroup the same: same
/// key, and a receiver that keeps the keys it applied applies each flow once. A batch that arrives
/// for a bucket already sent (say after a broker outage, or a collector later than
/// <c>flushDelay</c>) forms a later group of its own, with a key of its own. The one exception is
/// <c>maxPendingBatches</c>: when that many batches are held, everything held goes at once, as the
/// queue hands over no more.
/// </para>
/// </remarks>
internal sealed partial class HttpSink : IFlowSink
{
    private readonly Lock gate = new();
    private readonly Dictionary<long, Group> open = [];
    private readonly HttpSinkEncoder encoder;
    private readonly HttpSinkClient client;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private int held;

    private readonly HttpSinkMetrics metrics;

    public HttpSink(HttpSinkSettings settings, HttpSinkEncoder encoder, HttpSinkClient client, TimeProvider time, ILogger logger, HttpSinkMetrics metrics)
    {
        Settings = settings;
        this.encoder = encoder;
        this.client = client;
        this.time = time;
        this.logger = logger;
        this.metrics = metrics;
        metrics.Declare(settings.Name);
    }

    public HttpSinkSettings Settings { get; }

    /// <summary>Cancels requests still retrying when the exporter stops.</summary>
    public CancellationToken Stopping { get; set; }

    public Task WriteAsync(FlowBatchEnriched batch, CancellationToken cancellationToken)
    {
        if (Settings.Interval == TimeSpan.Zero)
        {
            // Per bus batch: the consume is the request. Cancelled by shutdown, the message goes back to its queue.
            return DeliverAsync([batch], null, cancellationToken);
        }

        var item = new Held(batch);
        List<Group>? early = null;
        lock (gate)
        {
            var intervalMs = (long)Settings.Interval.TotalMilliseconds;
            var bucket = batch.Header.WindowEnd.ToUnixTimeMilliseconds() / intervalMs;
            var now = time.GetUtcNow();
            if (!open.TryGetValue(bucket, out var group))
            {
                // A collector whose clock runs ahead: its bucket counts as closed one interval after its first batch came.
                var closes = DateTimeOffset.FromUnixTimeMilliseconds((bucket + 1) * intervalMs);
                group = new Group(closes < now + Settings.Interval ? closes : now + Settings.Interval);
                open.Add(bucket, group);
            }

            group.Items.Add(item);
            group.LastArrival = now;
            held++;
            if (held >= Settings.MaxPendingBatches)
            {
                // The queue hands over no more than this many; waiting for the interval would stall it.
                early = [.. open.Values];
                open.Clear();
            }

            metrics.Pending.WithLabels(Settings.Name).Set(held);
        }

        if (early is not null)
        {
            foreach (var group in early)
            {
                _ = FlushAsync(group);
            }
        }

        // Held until the request that carries the batch is answered. If the bus cancels the consume
        // (shutdown), the message goes back to its queue; should the request still succeed, the
        // redelivery carries the same key.
        return item.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Sends every bucket closed and quiet for <c>flushDelay</c>; <paramref name="all"/> sends every one (at shutdown).</summary>
    public Task FlushDueAsync(bool all)
    {
        List<Group> due = [];
        lock (gate)
        {
            var now = time.GetUtcNow();
            foreach (var (bucket, group) in open.Where(g => all || g.Value.DueAfter(Settings.FlushDelay) <= now).ToList())
            {
                open.Remove(bucket);
                due.Add(group);
            }
        }

        return Task.WhenAll(due.Select(FlushAsync));
    }

    private async Task FlushAsync(Group group)
    {
        try
        {
            var batches = group.Items.Select(i => i.Batch).ToList();
            await DeliverAsync(batches, group.Items, Stopping);
        }
        catch (Exception ex)
        {
            // A request that failed for good failed its batches (parked); anything else — the
            // exporter stopping mid-retry — leaves them held: the bus returns them to the queue.
            if (ex is not (OperationCanceledException or HttpSinkRejectedException or InvalidMessageException))
            {
                LogFlushFailed(logger, Settings.Name, ex.GetType().Name, ex.Message);
                foreach (var item in group.Items)
                {
                    item.Done.TrySetException(ex);
                }
            }
        }
        finally
        {
            lock (gate)
            {
                held -= group.Items.Count;
                metrics.Pending.WithLabels(Settings.Name).Set(held);
            }
        }
    }

    /// <summary>
    /// Sends the batches in as few requests as <c>maxFlowsPerRequest</c> allows, in batch-id
    /// order. Each held batch is released as soon as every request carrying its flows succeeded,
    /// or failed with the reason when one of them was rejected.
    /// </summary>
    private async Task DeliverAsync(IReadOnlyList<FlowBatchEnriched> batches, IReadOnlyList<Held>? items, CancellationToken cancellationToken)
    {
        // Unique within a group: the consumer lets one copy of a batch id in at a time.
        var byId = items?.ToDictionary(i => i.Batch.Header.Id);
        var ordered = batches.OrderBy(b => b.Header.Id.ToString(), StringComparer.Ordinal).ToList();
        var requests = Cut(ordered, Settings.MaxFlowsPerRequest).ToList();
        if (byId is not null)
        {
            foreach (var request in requests)
            {
                foreach (var slice in request)
                {
                    byId[slice.Batch.Header.Id].Pieces++;
                }
            }
        }

        for (var r = 0; r < requests.Count; r++)
        {
            var request = requests[r];
            try
            {
                await SendAsync(request, cancellationToken);
            }
            catch (HttpSinkRejectedException rejected)
            {
                var parked = new InvalidMessageException(rejected.Message, rejected) { Reason = rejected.Reason };
                // Undeliverable: the receiver is down; the remaining requests would wait out the same retry time.
                var failing = rejected.Reason == FaultReasons.Undeliverable ? requests.Skip(r).SelectMany(q => q) : request;
                var failed = failing.Select(s => s.Batch).Distinct(ReferenceEqualityComparer.Instance).Count();
                metrics.Parked.WithLabels(Settings.Name, rejected.Reason).Inc(failed);
                LogParked(logger, Settings.Name, Settings.Destination, failed, rejected.Message);
                if (byId is null)
                {
                    throw parked;
                }

                foreach (var slice in failing)
                {
                    byId[slice.Batch.Header.Id].Done.TrySetException(parked);
                }

                if (rejected.Reason == FaultReasons.Undeliverable)
                {
                    return;
                }

                continue;
            }

            if (byId is not null)
            {
                foreach (var slice in request)
                {
                    var item = byId[slice.Batch.Header.Id];
                    if (--item.Pieces == 0)
                    {
                        item.Done.TrySetResult();
                    }
                }
            }
        }
    }

    private async Task SendAsync(List<BatchSlice> request, CancellationToken cancellationToken)
    {
        var body = encoder.Encode(request, out var flows, out var dropped);
        var key = IdempotencyKey(Settings.Name, request);
        await client.SendAsync(body, key, encoder.ContentType, encoder.Gzip, cancellationToken);
        metrics.Requests.WithLabels(Settings.Name).Inc();
        metrics.Flows.WithLabels(Settings.Name).Inc(flows);
        metrics.Bytes.WithLabels(Settings.Name).Inc(body.Count);
        metrics.Dropped.WithLabels(Settings.Name).Inc(dropped);
        LogDelivered(logger, Settings.Name, flows, request.Count, body.Count, key);
    }

    /// <summary>Requests of whole batches up to <paramref name="max"/> flows; a batch larger than that alone, in pieces.</summary>
    internal static IEnumerable<List<BatchSlice>> Cut(IReadOnlyList<FlowBatchEnriched> ordered, int max)
    {
        List<BatchSlice> current = [];
        var flows = 0;
        foreach (var batch in ordered)
        {
            var count = batch.Flows.Count;
            if (count > max)
            {
                if (current.Count > 0)
                {
                    yield return current;
                    current = [];
                    flows = 0;
                }

                for (var start = 0; start < count; start += max)
                {
                    yield return [new BatchSlice(batch, start, Math.Min(max, count - start))];
                }

                continue;
            }

            if (current.Count > 0 && flows + count > max)
            {
                yield return current;
                current = [];
                flows = 0;
            }

            current.Add(new BatchSlice(batch, 0, count));
            flows += count;
        }

        if (current.Count > 0)
        {
            yield return current;
        }
    }

    /// <summary>The sink's name and a hash of what the request carries: the same on every retry and redelivery of the same batches.</summary>
    internal static string IdempotencyKey(string sink, IEnumerable<BatchSlice> request)
    {
        var ids = Encoding.UTF8.GetBytes(string.Join('\n', request.Select(s => s.ToString())));
        return $"{sink}-{Convert.ToHexStringLower(SHA256.HashData(ids).AsSpan(0, 16))}";
    }

    [LoggerMessage(EventId = 3401, Level = LogLevel.Debug, Message = "Sink {Sink} delivered {Flows} flows of {Slices} batches in {Bytes} bytes (key {Key})")]
    private static partial void LogDelivered(ILogger logger, string sink, int flows, int slices, int bytes, string key);

    [LoggerMessage(EventId = 3402, Level = LogLevel.Error, Message = "Sink {Sink} ({Destination}) parks {Batches} batches in its _error queue: {Reason}")]
    private static partial void LogParked(ILogger logger, string sink, string destination, int batches, string reason);

    [LoggerMessage(EventId = 3403, Level = LogLevel.Error, Message = "Sink {Sink} could not send an interval ({ExceptionType}: {Reason})")]
    private static partial void LogFlushFailed(ILogger logger, string sink, string exceptionType, string reason);

    /// <summary>A held consume: released when its batch's requests all succeeded.</summary>
    private sealed class Held(FlowBatchEnriched batch)
    {
        public FlowBatchEnriched Batch { get; } = batch;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Requests carrying part of the batch not yet answered.</summary>
        public int Pieces { get; set; }
    }

    /// <summary>The batches of one interval bucket, sent together once the bucket has closed and no batch came for <c>flushDelay</c>.</summary>
    private sealed class Group(DateTimeOffset closes)
    {
        /// <summary>The end of the bucket.</summary>
        public DateTimeOffset Closes { get; } = closes;

        public DateTimeOffset LastArrival { get; set; }

        public List<Held> Items { get; } = [];

        public DateTimeOffset DueAfter(TimeSpan flushDelay) => (Closes > LastArrival ? Closes : LastArrival) + flushDelay;
    }
}
