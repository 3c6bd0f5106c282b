using Microsoft.Extensions.Options;
using Snappier;

namespace Egressd.Exporter.Sinks.Prometheus.RemoteWrite;

/// <summary>
/// Every interval, pushes every live flow series with its cumulative value, like a Prometheus
/// agent that scraped us: real counters, so rate() works on the receiving side too (egressd wrote
/// per-window deltas as samples of counters, which rate() reads as resets). A failed push is not
/// queued: the next one carries the same counters, grown.
/// </summary>
internal sealed partial class RemoteWritePusher(
    FlowSeriesStore store,
    Cost.CostSeriesStore costs,
    RemoteWriteClient client,
    IOptions<RemoteWriteOptions> options,
    IOptions<PrometheusOptions> prometheus,
    TimeProvider time,
    ILogger<RemoteWritePusher> logger,
    RemoteWriteMetrics metrics) : BackgroundService
{
    private static readonly TimeSpan FinalPushLimit = TimeSpan.FromSeconds(10);

    private readonly RemoteWriteOptions remote = options.Value;
    private readonly KeyValuePair<string, string>[] staticLabels = [.. prometheus.Value.StaticLabels.Concat(options.Value.StaticLabels)];
    private readonly RemoteWriteEncoder encoder = new(
        store.LabelNames,
        prometheus.Value.StaticLabels.Concat(options.Value.StaticLabels),
        options.Value.SendReceivedBytes ? [0, 1, 2, 3] : [0, 2],
        options.Value.MaxSamplesPerRequest);

    // One push at a time: the encoder and its buffer are reused.
    private readonly SemaphoreSlim pushing = new(1, 1);
    private bool failing;

    /// <summary>Pushes every live series once; false when a request failed for good.</summary>
    public async Task<bool> PushAsync(CancellationToken cancellationToken)
    {
        await pushing.WaitAsync(cancellationToken);
        try
        {
            return await PushAllAsync(cancellationToken);
        }
        finally
        {
            pushing.Release();
        }
    }

    public override void Dispose()
    {
        pushing.Dispose();
        base.Dispose();
    }

    private async Task<bool> PushAllAsync(CancellationToken cancellationToken)
    {
        var timestamp = time.GetUtcNow().ToUnixTimeMilliseconds();
        int requests = 0, samples = 0;
        var cursor = 0;
        // The flow series a chunk at a time, then the cost series (few) in one request of their own.
        var costsSent = false;
        while (!costsSent)
        {
            encoder.Reset(timestamp);
            if (cursor >= 0)
            {
                cursor = store.Visit(cursor, encoder);
            }

            if (encoder.Samples == 0)
            {
                costsSent = true;
                encoder.AppendCost(costs.LabelNames, staticLabels, costs.Read());
                if (encoder.Samples == 0)
                {
                    break;
                }
            }

            var body = Snappy.CompressToArray(encoder.Written);
            var sent = encoder.Samples;
            try
            {
                await client.PushAsync(body, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Whatever went wrong (status, transport, timeout), the next push tries again.
                metrics.Failures.Inc();
                failing = true;
                LogPushFailed(logger, client.Destination, ex.GetType().Name, ex.Message);
                return false;
            }

            metrics.Pushes.Inc();
            metrics.Samples.Inc(sent);
            requests++;
            samples += sent;
        }

        if (failing)
        {
            failing = false;
            LogRecovered(logger, client.Destination);
        }

        LogPushed(logger, samples, requests, client.Destination);
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(remote.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await PushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping; StopAsync pushes one last time.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // What changed since the last push would otherwise never reach the receiver: counters
        // restart from zero with the next process.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(FinalPushLimit);
        try
        {
            await PushAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            LogFinalPushAbandoned(logger, FinalPushLimit);
        }
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning,
        Message = "Remote write to {Destination} failed ({ExceptionType}: {Reason}); the next push sends the counters again")]
    private static partial void LogPushFailed(ILogger logger, string destination, string exceptionType, string reason);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "Remote write to {Destination} works again")]
    private static partial void LogRecovered(ILogger logger, string destination);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Debug, Message = "Pushed {Samples} samples in {Requests} requests to {Destination}")]
    private static partial void LogPushed(ILogger logger, int samples, int requests, string destination);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "The last remote write before shutdown did not finish within {Limit}")]
    private static partial void LogFinalPushAbandoned(ILogger logger, TimeSpan limit);
}
