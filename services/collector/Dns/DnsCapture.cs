using System.Runtime.Versioning;
using Microsoft.Extensions.Options;

namespace Egressd.Collector.Dns;

/// <summary>
/// Captures DNS responses in the network namespace the collector reads, on a thread of its own,
/// and feeds the answers through the address-to-name map into the inbox the read cycle drains.
/// Names are a bonus, never a reason to stop: without CAP_NET_RAW (or with capture turned off)
/// the collector runs on without them and says so once.
/// </summary>
internal sealed partial class DnsCapture(
    IOptions<DnsOptions> options,
    IOptions<CollectorOptions> collectorOptions,
    DnsAnswerInbox inbox,
    TimeProvider time,
    ILogger<DnsCapture> logger,
    DnsMetrics metrics) : BackgroundService
{
    private static readonly TimeSpan ReceiveTimeout = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private PacketSocket? socket;
    private DnsResponseProcessor? processor;

    /// <summary>
    /// Opens the socket before the host's start completes (ExecuteAsync runs later, on the thread
    /// pool), so every answer from then on is queued in the kernel for the capture thread.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var collector = collectorOptions.Value;
        metrics.CaptureUp.Set(0);
        if (!settings.Enabled)
        {
            LogOff(logger, $"{DnsOptions.Section}:Enabled is false");
        }
        else if (!OperatingSystem.IsLinux())
        {
            LogOff(logger, "capture needs Linux");
        }
        else if (collector.Source == CollectorSource.Replay)
        {
            LogOff(logger, "the replay source carries its own answers");
        }
        else
        {
            Open(settings, collector.NetnsPath());
        }

        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!OperatingSystem.IsLinux() || socket is null || processor is null)
        {
            return Task.CompletedTask;
        }

        return StartThread(socket, processor, stoppingToken);
    }

    [SupportedOSPlatform("linux")]
    private Task StartThread(PacketSocket open, DnsResponseProcessor work, CancellationToken stoppingToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => Run(open, work, done, stoppingToken)) { IsBackground = true, Name = "egressd-dns" };
        thread.Start();
        return done.Task;
    }

    public override void Dispose()
    {
        // Only when ExecuteAsync never took it over (the host stopped before it ran).
        if (ExecuteTask is null && OperatingSystem.IsLinux())
        {
            socket?.Dispose();
        }

        base.Dispose();
    }

    [SupportedOSPlatform("linux")]
    private void Open(DnsOptions settings, string? netns)
    {
        var where = netns ?? "the collector's network namespace";
        try
        {
            socket = PacketSocket.Open(netns, settings.ReceiveBufferBytes, ReceiveTimeout);
        }
        catch (PacketSocketException ex) when (ex.IsPermissionDenied)
        {
            LogNoPermission(logger, where, ex.Message);
            return;
        }
        catch (Exception ex) when (ex is PacketSocketException or IOException or UnauthorizedAccessException)
        {
            LogOpenFailed(logger, where, ex.Message);
            return;
        }

        processor = new DnsResponseProcessor(new DnsAnswerMap(settings.MaxEntries, settings.MinTtl, settings.MaxTtl), inbox, time, metrics);
        metrics.CaptureUp.Set(1);
        LogStarted(logger, where, settings.MinTtl, settings.MaxTtl, settings.MaxEntries);
    }

    [SupportedOSPlatform("linux")]
    private void Run(PacketSocket open, DnsResponseProcessor work, TaskCompletionSource done, CancellationToken stoppingToken)
    {
        try
        {
            Loop(open, work, stoppingToken);
        }
        finally
        {
            open.Dispose();
            metrics.CaptureUp.Set(0);
            done.SetResult();
        }
    }

    [SupportedOSPlatform("linux")]
    private void Loop(PacketSocket socket, DnsResponseProcessor processor, CancellationToken stoppingToken)
    {
        var buffer = GC.AllocateUninitializedArray<byte>((int)DnsSocketFilter.SnapLength);
        var map = processor.Map;
        var nextSweep = time.GetTimestamp();
        long evicted = 0, expired = 0;
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var received = socket.Receive(buffer);
                if (received > 0)
                {
                    processor.Process(buffer.AsSpan(0, received));
                }

                failing = false;
            }
            catch (PacketSocketException ex)
            {
                if (!failing)
                {
                    LogReceiveFailed(logger, ex.Message);
                    failing = true;
                }

                stoppingToken.WaitHandle.WaitOne(ReceiveTimeout);
            }

            if (time.GetTimestamp() < nextSweep)
            {
                continue;
            }

            nextSweep = time.GetTimestamp() + (long)(SweepInterval.TotalSeconds * time.TimestampFrequency);
            map.RemoveExpired(time.GetUtcNow());
            metrics.MapEntries.Set(map.Count);
            metrics.MapEvictions.WithLabels("lru").Inc(map.Evicted - evicted);
            metrics.MapEvictions.WithLabels("expired").Inc(map.Expired - expired);
            (evicted, expired) = (map.Evicted, map.Expired);
            metrics.KernelDrops.Inc(socket.TakeDrops());
        }
    }

    [LoggerMessage(EventId = 2501, Level = LogLevel.Information,
        Message = "DNS capture in {Where}: destinations are named from A, AAAA and CNAME answers (UDP and TCP, port 53), each kept {MinTtl} to {MaxTtl}, at most {MaxEntries} addresses")]
    private static partial void LogStarted(ILogger logger, string where, TimeSpan minTtl, TimeSpan maxTtl, int maxEntries);

    [LoggerMessage(EventId = 2502, Level = LogLevel.Warning,
        Message = "DNS capture is off in {Where} ({Reason}): it needs CAP_NET_RAW (add the NET_RAW capability); the collector runs on, and flows carry no DNS names")]
    private static partial void LogNoPermission(ILogger logger, string where, string reason);

    [LoggerMessage(EventId = 2503, Level = LogLevel.Warning,
        Message = "DNS capture is off in {Where}: {Reason}; the collector runs on, and flows carry no DNS names")]
    private static partial void LogOpenFailed(ILogger logger, string where, string reason);

    [LoggerMessage(EventId = 2504, Level = LogLevel.Information, Message = "DNS capture is off: {Reason}")]
    private static partial void LogOff(ILogger logger, string reason);

    [LoggerMessage(EventId = 2505, Level = LogLevel.Warning, Message = "Receiving DNS responses failed ({Reason}); retrying")]
    private static partial void LogReceiveFailed(ILogger logger, string reason);
}
