using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// Sends each accumulating sink's intervals when they are due, and once more at shutdown so what
/// was held goes out instead of waiting for a redelivery. It stops before the bus does (hosted
/// services stop in reverse order), while the held consumes can still be acknowledged.
/// </summary>
internal sealed partial class HttpSinkFlusher(HttpSinks sinks, IOptions<HttpSinksOptions> options, TimeProvider time, ILogger<HttpSinkFlusher> logger) : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan FinalFlushLimit = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource stopping = new();

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var (name, entry) in options.Value.Sinks)
        {
            if (entry.Http is null && entry.PromRemoteWrite is not null)
            {
                LogRemoteWriteIgnored(logger, name);
            }
        }

        foreach (var sink in sinks.All)
        {
            sink.Stopping = stopping.Token;
            LogSink(logger, sink.Settings.Name, sink.Settings.Destination, sink.Settings.Encoding, sink.Settings.Gzip, sink.Settings.Interval, sink.Settings.Queue);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Tick, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var sink in sinks.All)
                {
                    _ = sink.FlushDueAsync(all: false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping; StopAsync sends what is held.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var flushes = Task.WhenAll(sinks.All.Select(s => s.FlushDueAsync(all: true)));
        try
        {
            await flushes.WaitAsync(FinalFlushLimit, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // What is still retrying stays unacknowledged: the broker delivers it again.
            LogFinalFlushAbandoned(logger, FinalFlushLimit);
        }

        await stopping.CancelAsync();
    }

    public override void Dispose()
    {
        stopping.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 3405, Level = LogLevel.Information,
        Message = "HTTP sink {Sink}: {Encoding} (gzip {Gzip}) to {Destination} every {Interval} (0: each bus batch), from queue {Queue}")]
    private static partial void LogSink(ILogger logger, string sink, string destination, HttpSinkEncoding encoding, bool gzip, TimeSpan interval, string queue);

    [LoggerMessage(EventId = 3406, Level = LogLevel.Warning,
        Message = "Sink {Sink} is egressd's prom_remote_write, which is not read from the config file: set Egressd:Exporter:RemoteWrite:* instead")]
    private static partial void LogRemoteWriteIgnored(ILogger logger, string sink);

    [LoggerMessage(EventId = 3407, Level = LogLevel.Warning, Message = "HTTP sinks still retrying after {Limit} at shutdown; their batches are delivered again by the broker")]
    private static partial void LogFinalFlushAbandoned(ILogger logger, TimeSpan limit);
}
