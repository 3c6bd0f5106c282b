using System.Runtime.Versioning;
using Egressd.Collector.Flows;
using Egressd.Collector.Native;
using Egressd.Collector.Netfilter;
using Egressd.Collector.Pods;
using Egressd.Contracts;
using Egressd.Shared.Bus;
using Microsoft.Extensions.Options;

namespace Egressd.Collector;

/// <summary>Runs the read cycle every read interval, and once more at shutdown so the last window is not lost.</summary>
internal sealed partial class CollectorWorker(
    IServiceProvider services,
    IOptions<CollectorOptions> options,
    IOptions<BusOptions> busOptions,
    IOptions<HostOptions> hostOptions,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<CollectorWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var node = settings.ResolveNodeName();
        IFlowReader reader;
        try
        {
            if (OperatingSystem.IsLinux() && settings.ResolveSource() == FlowSource.Netfilter)
            {
                Prepare(ConntrackSwitch.Accounting, settings.EnableAccounting, settings.NetnsPath());
                Prepare(ConntrackSwitch.Timestamps, settings.EnableTimestamps, settings.NetnsPath());
            }

            reader = services.GetRequiredService<IFlowReader>();
        }
        catch (SystemCallException ex) when (ex is NetlinkException or NetworkNamespaceException && ex.IsPermissionDenied)
        {
            Fail($"The collector cannot open conntrack in {settings.NetnsPath() ?? "its network namespace"} ({ex.Message}): it needs CAP_NET_ADMIN (run it privileged or add the NET_ADMIN capability).");
            return;
        }
        catch (Exception ex) when (ex is NetlinkException or NetworkNamespaceException or FormatException or IOException or UnauthorizedAccessException)
        {
            Fail($"The collector cannot open its flow source: {ex.Message}");
            return;
        }

        var windows = new WindowPublisher(reader, services.GetRequiredService<PendingFlows>(), services.GetRequiredService<IBatchPublisher>(), time, node, settings.MaxFlowsPerPart, logger, services.GetRequiredService<CollectorMetrics>());
        var localPods = services.GetRequiredService<ILocalPods>();
        var podFilter = localPods.Description;
        var netns = settings.NetnsPath() ?? "own";
        LogStarted(logger, node, reader.Source, settings.ReadInterval, windows.BootId, netns, podFilter);
        try
        {
            // A read before the node's pods are known would filter out, and so lose, their traffic.
            await localPods.WaitUntilReadyAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        // Everything the collector needs has started: what only starting used can go.
        if (OperatingSystem.IsLinux())
        {
            services.GetService<StartupCode>()?.GiveBack();
        }

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
        catch (FlowSourceUnavailableException ex)
        {
            Fail(ex.Message);
            return;
        }

        // The bus stops after this service, so the last deltas still have a way out: everything read,
        // the frozen window and the pending deltas, within the termination grace period.
        using var last = new CancellationTokenSource(ShutdownBudget());
        try
        {
            var flushed = await windows.FlushAsync(last.Token);
            if (flushed.Unsent > 0)
            {
                LogUnsentAtShutdown(logger, flushed.Sent, flushed.Unsent, windows.Checkpointed);
            }
            else
            {
                LogFlushedAtShutdown(logger, flushed.Sent);
            }

            LogEndedAtShutdown(logger, flushed.EndedConnections, flushed.EndedBytes);
        }
        catch (FlowSourceUnavailableException ex)
        {
            LogFatal(logger, ex.Message);
        }
        catch (OperationCanceledException)
        {
            LogUnsentAtShutdown(logger, 0, windows.PendingKeyCount, windows.Checkpointed);
        }
    }

    /// <summary>
    /// Up to three publish timeouts (the frozen window, the last deltas, a retry), never past the
    /// host's shutdown timeout (the pod's termination grace) less a margin to exit cleanly.
    /// </summary>
    private TimeSpan ShutdownBudget()
    {
        var grace = hostOptions.Value.ShutdownTimeout - TimeSpan.FromSeconds(2);
        var wanted = busOptions.Value.PublishTimeout * 3;
        return grace > TimeSpan.FromSeconds(1) && grace < wanted ? grace : wanted;
    }

    [SupportedOSPlatform("linux")]
    private void Prepare(ConntrackSwitch sysctl, bool allowed, string? netns)
    {
        var where = netns ?? "the collector's network namespace";
        if (sysctl.IsEnabled(netns) is true)
        {
            return;
        }

        if (!allowed)
        {
            LogSwitchOff(logger, sysctl.Sysctl, where, sysctl.Setting, sysctl.WithoutIt);
            return;
        }

        try
        {
            sysctl.Enable(netns);
            LogSwitchEnabled(logger, sysctl.Sysctl, where);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogSwitchNotEnabled(logger, sysctl.Sysctl, where, ex.Message, sysctl.WithoutIt);
        }
    }

    private void Fail(string message)
    {
        LogFatal(logger, message);
        Environment.ExitCode = 1;
        lifetime.StopApplication();
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information,
        Message = "Collector on node {Node} reads {Source} flows every {Interval} (boot id {BootId}, network namespace {Netns}); pod filter: {PodFilter}")]
    private static partial void LogStarted(ILogger logger, string node, FlowSource source, TimeSpan interval, string bootId, string netns, string podFilter);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning,
        Message = "Stopping: {Sent} flow keys published at shutdown, {Unsent} the broker did not confirm in time ({Kept})")]
    private static partial void LogUnsentAtShutdown(ILogger logger, int sent, int unsent, string kept);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Information, Message = "Stopping: {Sent} flow keys published at shutdown, none left unconfirmed")]
    private static partial void LogFlushedAtShutdown(ILogger logger, int sent);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information,
        Message = "Stopping: {Connections} connections ended after the final read, while the last windows were published; their last {Bytes} bytes are in them")]
    private static partial void LogEndedAtShutdown(ILogger logger, int connections, ulong bytes);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Critical, Message = "{Reason}")]
    private static partial void LogFatal(ILogger logger, string reason);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Turned on {Sysctl}=1 in {Where}")]
    private static partial void LogSwitchEnabled(ILogger logger, string sysctl, string where);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning,
        Message = "{Sysctl} is off in {Where} and could not be turned on ({Reason}): {WithoutIt}. Set {Sysctl}=1 on the node, or give the collector CAP_NET_ADMIN")]
    private static partial void LogSwitchNotEnabled(ILogger logger, string sysctl, string where, string reason, string withoutIt);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "{Sysctl} is off in {Where} and {Setting} is false: {WithoutIt} until {Sysctl}=1 is set")]
    private static partial void LogSwitchOff(ILogger logger, string sysctl, string where, string setting, string withoutIt);
}
