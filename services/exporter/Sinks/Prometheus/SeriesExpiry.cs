namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>Removes idle series every so often, so memory follows the live series and not their history.</summary>
internal sealed partial class SeriesExpiry(FlowSeriesStore store, TimeSpan idleTimeout, TimeProvider time, ILogger<SeriesExpiry> logger, PrometheusSinkMetrics metrics) : BackgroundService
{
    /// <summary>A series lives at most this much past its idle timeout.</summary>
    public static TimeSpan Period(TimeSpan idleTimeout) =>
        TimeSpan.FromTicks(Math.Clamp(idleTimeout.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(30).Ticks));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = Period(idleTimeout);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var removed = store.RemoveIdle();
            if (removed > 0)
            {
                metrics.SeriesExpired.Inc(removed);
                metrics.LiveSeries.Set(store.Count);
                LogExpired(logger, removed, idleTimeout, store.Count);
            }
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "Removed {Count} flow series idle for {IdleTimeout}; {Live} remain")]
    private static partial void LogExpired(ILogger logger, int count, TimeSpan idleTimeout, int live);
}
