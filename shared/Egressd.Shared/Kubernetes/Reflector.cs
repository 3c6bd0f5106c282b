using Microsoft.Extensions.Logging;

namespace Egressd.Shared.Kubernetes;

/// <summary>
/// Keeps a local copy of one Kubernetes resource, the way client-go's reflector does, over the
/// API's list and watch calls (<see cref="ApiServerSource{T}"/>): a paged list, then a watch from
/// the list's resourceVersion with bookmarks. A 410 Gone relists and reports the objects that
/// vanished in the gap as deletions; a stream that ends or breaks is watched again from the last
/// resourceVersion, with jittered backoff after failures; a watchdog restarts a watch that has
/// been silent longer than <see cref="KubernetesOptions.WatchIdleTimeout"/>. Only the fields the
/// transform keeps are held in memory.
/// </summary>
public sealed partial class Reflector<T, TSlim>
    where T : class, IApiObject
    where TSlim : class
{
    private readonly string resource;
    private readonly ApiServerSource<T> source;
    private readonly Func<T, TSlim> transform;
    private readonly IReflectorHandler<TSlim> handler;
    private readonly KubernetesOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly KubernetesMetrics metrics;
    private readonly Dictionary<string, TSlim> store = new(StringComparer.Ordinal);
    private volatile bool synced;

    /// <param name="resource">For logs and metrics: "pods", "nodes", ...</param>
    /// <param name="transform">Keeps the fields egressd uses; the full object is dropped.</param>
    public Reflector(
        string resource,
        ApiServerSource<T> source,
        Func<T, TSlim> transform,
        IReflectorHandler<TSlim> handler,
        KubernetesOptions options,
        TimeProvider time,
        ILogger logger,
        KubernetesMetrics metrics)
    {
        this.resource = resource;
        this.source = source;
        this.transform = transform;
        this.handler = handler;
        this.options = options;
        this.time = time;
        this.logger = logger;
        this.metrics = metrics;
    }

    public string Resource => resource;

    /// <summary>True once a full list has been applied.</summary>
    public bool HasSynced => synced;

    /// <summary>Lists and watches until cancelled. Never throws for API trouble: it logs and tries again.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        string? resourceVersion = null;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                resourceVersion ??= await RelistAsync(cancellationToken);
                var (next, reason) = await WatchAsync(resourceVersion, cancellationToken);
                failures = 0;
                resourceVersion = reason == "expired" ? null : next;
                metrics.WatchRestarts.WithLabels(resource, reason).Inc();
                LogWatchEnded(logger, resource, reason, resourceVersion ?? "relist");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ResourceExpiredException)
            {
                // A list page's continue token or a watch's resourceVersion is too old.
                metrics.WatchRestarts.WithLabels(resource, "expired").Inc();
                resourceVersion = null;
            }
            catch (Exception ex)
            {
                failures++;
                var delay = Backoff(failures);
                metrics.WatchRestarts.WithLabels(resource, "error").Inc();
                LogApiFailure(logger, resource, ex.GetType().Name, ex.Message, delay);
                try
                {
                    await Task.Delay(delay, time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<string> RelistAsync(CancellationToken cancellationToken)
    {
        metrics.Relists.WithLabels(resource).Inc();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? continueToken = null;
        string? resourceVersion = null;
        do
        {
            var page = await source.ListAsync(continueToken, options.PageSize, cancellationToken);
            // The first page's resourceVersion is the snapshot every page belongs to.
            resourceVersion ??= page.ResourceVersion;
            foreach (var item in page.Items)
            {
                var key = source.Key(item);
                seen.Add(key);
                Upsert(key, item);
            }

            continueToken = page.Continue;
        }
        while (!string.IsNullOrEmpty(continueToken));

        // Whatever we hold that the list no longer has was deleted while we were not watching.
        foreach (var key in store.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            var previous = store[key];
            store.Remove(key);
            handler.OnDelete(key, previous);
        }

        metrics.Objects.WithLabels(resource).Set(store.Count);
        handler.OnSynced();
        if (!synced)
        {
            synced = true;
            LogSynced(logger, resource, store.Count, resourceVersion ?? "");
        }

        return resourceVersion ?? "0";
    }

    private async Task<(string ResourceVersion, string Reason)> WatchAsync(string resourceVersion, CancellationToken cancellationToken)
    {
        using var watchCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var lastEvent = time.GetTimestamp();
        var stalled = false;
        var expired = false;
        using var watchdog = time.CreateTimer(
            _ =>
            {
                if (time.GetElapsedTime(Volatile.Read(ref lastEvent)) > options.WatchIdleTimeout)
                {
                    stalled = true;
                    watchCancel.Cancel();
                }
            },
            null,
            options.WatchIdleTimeout / 4,
            options.WatchIdleTimeout / 4);

        try
        {
            await foreach (var change in source.WatchAsync(resourceVersion, watchCancel.Token))
            {
                Volatile.Write(ref lastEvent, time.GetTimestamp());
                switch (change.Type)
                {
                    case ResourceEventType.Expired:
                        // 410: our resourceVersion is gone; the stream ends after it.
                        expired = true;
                        continue;
                    case ResourceEventType.Error:
                        LogBadEvent(logger, resource, change.Error ?? "an ERROR event");
                        continue;
                }

                metrics.Events.WithLabels(resource, change.Type.ToString()).Inc();
                if (change.ResourceVersion is { Length: > 0 } version)
                {
                    resourceVersion = version;
                }

                switch (change.Type)
                {
                    case ResourceEventType.Added or ResourceEventType.Modified:
                        Upsert(source.Key(change.Item!), change.Item!);
                        break;
                    case ResourceEventType.Deleted:
                        var key = source.Key(change.Item!);
                        if (store.Remove(key, out var previous))
                        {
                            handler.OnDelete(key, previous);
                        }

                        break;
                    default:
                        // Bookmarks only move the resourceVersion on.
                        break;
                }

                metrics.Objects.WithLabels(resource).Set(store.Count);
            }
        }
        catch (OperationCanceledException) when (stalled && !cancellationToken.IsCancellationRequested)
        {
            LogStalled(logger, resource, options.WatchIdleTimeout);
            return (resourceVersion, "stalled");
        }

        return (resourceVersion, expired ? "expired" : "closed");
    }

    private void Upsert(string key, T item)
    {
        var slim = transform(item);
        store.TryGetValue(key, out var previous);
        store[key] = slim;
        handler.OnUpsert(key, previous, slim);
    }

    private TimeSpan Backoff(int failures)
    {
        var ceiling = Math.Min(options.MaxBackoff.TotalMilliseconds, 200 * Math.Pow(2, Math.Min(failures, 16)));
        // Jitter spreads the reconnects of a whole DaemonSet after an API server restart.
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() / 2)));
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Kubernetes {Resource} synced: {Count} objects at resourceVersion {ResourceVersion}")]
    private static partial void LogSynced(ILogger logger, string resource, int count, string resourceVersion);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Kubernetes {Resource} watch ended ({Reason}); continuing from {ResourceVersion}")]
    private static partial void LogWatchEnded(ILogger logger, string resource, string reason, string resourceVersion);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Kubernetes {Resource} list or watch failed ({ExceptionType}: {Reason}); trying again in {Delay}")]
    private static partial void LogApiFailure(ILogger logger, string resource, string exceptionType, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Kubernetes {Resource} watch was silent for more than {Idle}; restarting it")]
    private static partial void LogStalled(ILogger logger, string resource, TimeSpan idle);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "Kubernetes {Resource} watch sent an event that could not be read: {Reason}")]
    private static partial void LogBadEvent(ILogger logger, string resource, string reason);
}
