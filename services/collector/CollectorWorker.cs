using Egressd.Collector.Flows;
using Egressd.Shared.Bus;
using Microsoft.Extensions.Options;

namespace Egressd.Collector;

/// <summary>Runs the read cycle every read interval, and once more at shutdown so the last window is not lost.</summary>
internal sealed partial class CollectorWorker(
    IFlowReader reader,
    IBatchPublisher publisher,
    IOptions<CollectorOptions> options,
    IOptions<BusOptions> busOptions,
    TimeProvider time,
    ILogger<CollectorWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var node = settings.ResolveNodeName();
        var windows = new WindowPublisher(reader, publisher, time, node, settings.MaxFlowsPerPart, logger);
        LogStarted(logger, node, reader.Source, settings.ReadInterval, windows.BootId);

        using var timer = new PeriodicTimer(settings.ReadInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await windows.RunCycleAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: fall through to the final window.
        }

        // The bus stops after this service, so the last deltas still have a way out.
        using var last = new CancellationTokenSource(busOptions.Value.PublishTimeout * 2);
        await windows.RunCycleAsync(last.Token);
        if (windows.PendingKeyCount > 0)
        {
            LogUnsentAtShutdown(logger, windows.PendingKeyCount);
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information,
        Message = "Collector on node {Node} reads {Source} flows every {Interval} (boot id {BootId})")]
    private static partial void LogStarted(ILogger logger, string node, Egressd.Contracts.FlowSource source, TimeSpan interval, string bootId);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning,
        Message = "Stopping with {Keys} flow keys the broker never confirmed; they are lost with this process")]
    private static partial void LogUnsentAtShutdown(ILogger logger, int keys);
}
