using System.Runtime.Versioning;
using Egressd.Collector.Flows;
using Egressd.Contracts;

namespace Egressd.Collector.Netfilter;

/// <summary>
/// The netfilter flow source: destroy events queued since the last read, one dump of the table,
/// the events that arrived during it, all through the reducer into the pending flows.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class NetfilterFlowReader : IFlowReader, IDisposable
{
    private readonly NetfilterConntrack conntrack;
    private readonly ConntrackEventListener? events;
    private readonly ConntrackReducer reducer;
    private readonly string where;
    private readonly ILogger logger;
    private readonly ConntrackMetrics metrics;
    private bool? countersSeen;
    private bool reported;
    private long lastOverflows;
    private long lastSkipped;
    private long lastRestarts;
    private long lastDestroys;
    private bool startsReported;

    public NetfilterFlowReader(NetfilterConntrack conntrack, ConntrackEventListener? events, ConntrackReducer reducer, string? netns, ILogger logger, ConntrackMetrics metrics, IWindowCheckpoint? checkpoint = null)
    {
        this.metrics = metrics;
        this.conntrack = conntrack;
        this.events = events;
        this.reducer = reducer;
        this.logger = logger;
        Checkpoint = checkpoint;
        where = netns ?? "this process's network namespace";
    }

    public FlowSource Source => FlowSource.Netfilter;

    public IWindowCheckpoint? Checkpoint { get; }

    public ValueTask ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            events?.Drain(reducer);
            reducer.BeginDump();
            conntrack.Dump(reducer);
            events?.Drain(reducer);
            reducer.EndDump();
        }
        catch (NetlinkException ex) when (ex.IsPermissionDenied)
        {
            throw new FlowSourceUnavailableException(
                $"Reading conntrack in {where} was refused ({ex.Message}): the collector needs CAP_NET_ADMIN (run it privileged or add the NET_ADMIN capability).", ex);
        }

        Report();
        return ValueTask.CompletedTask;
    }

    public int ReadEnded(bool last)
    {
        if (events is null)
        {
            return 0;
        }

        if (last)
        {
            events.Stop();
        }

        var applied = events.Drain(reducer);
        Report();
        return applied;
    }

    private void Report()
    {
        metrics.Entries.Set(reducer.DumpedEntries);
        metrics.ActiveEntries.Set(reducer.ActiveEntries);
        metrics.TrackedEntries.Set(reducer.TrackedEntries);
        metrics.DestroyEvents.Inc(reducer.DestroyEvents - lastDestroys);
        lastDestroys = reducer.DestroyEvents;
        metrics.DumpRestarts.Inc(conntrack.Restarts - lastRestarts);
        lastRestarts = conntrack.Restarts;
        var skipped = conntrack.SkippedEntries + (events?.ParseErrors ?? 0);
        metrics.SkippedEntries.Inc(skipped - lastSkipped);
        lastSkipped = skipped;
        if (events is not null)
        {
            metrics.EventOverflows.Inc(events.Overflows - lastOverflows);
            lastOverflows = events.Overflows;
        }

        if (!reported && reducer.DumpedEntries == 0)
        {
            LogEmptyTable(logger, where);
        }

        if (reducer.TakeRestartOutcome(out var restart))
        {
            LogRestartOutcome(logger, restart.Continued, restart.New, restart.Baseline, reducer.UncountedBytes);
        }

        if (!startsReported && reducer.DumpedEntries > 0 && reducer.EntriesWithStart < reducer.DumpedEntries)
        {
            // Entries made before nf_conntrack_timestamp was on never get a start time; say it once.
            LogNoStartTimes(logger, reducer.DumpedEntries - reducer.EntriesWithStart, reducer.DumpedEntries, where);
            startsReported = true;
        }

        reported = true;

        // Say it once when it starts, and once when it stops.
        if (reducer.DumpedEntries > 0)
        {
            var seen = reducer.EntriesWithCounters > 0;
            if (seen != countersSeen)
            {
                if (!seen)
                {
                    LogNoCounters(logger, reducer.DumpedEntries, where);
                }
                else if (countersSeen is false)
                {
                    LogCountersBack(logger, where);
                }

                countersSeen = seen;
            }
        }
    }

    public void Dispose()
    {
        (reducer.HostNetwork as IDisposable)?.Dispose();
        events?.Dispose();
        conntrack.Dispose();
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning,
        Message = "All {Entries} conntrack entries in {Where} have no counters, so every flow reads zero: accounting is off. Turn it on with sysctl net.netfilter.nf_conntrack_acct=1 there, or Egressd:Collector:EnableAccounting=true with CAP_NET_ADMIN (entries that existed before keep no counters)")]
    private static partial void LogNoCounters(ILogger logger, int entries, string where);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Information,
        Message = "The conntrack table in {Where} is empty: nothing there uses connection tracking yet (no NAT or stateful firewall rule), so there are no flows to report")]
    private static partial void LogEmptyTable(ILogger logger, string where);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Information,
        Message = "First read: {Continued} connections continue from the restart checkpoint, {Started} opened since are counted from their start, {Baseline} are taken as they are now; the {Uncounted} bytes those carried before are not counted (egressd_collector_restart_uncounted_bytes_total)")]
    private static partial void LogRestartOutcome(ILogger logger, int continued, int started, int baseline, ulong uncounted);

    [LoggerMessage(EventId = 2305, Level = LogLevel.Warning,
        Message = "{Without} of {Entries} conntrack entries in {Where} have no start time (net.netfilter.nf_conntrack_timestamp was off when they began): a client that reopens the same source port to the same server while the old entry lingers can be miscounted, and a restart takes them as a baseline. Turn it on with sysctl net.netfilter.nf_conntrack_timestamp=1 there, or Egressd:Collector:EnableTimestamps=true with CAP_NET_ADMIN")]
    private static partial void LogNoStartTimes(ILogger logger, int without, int entries, string where);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Information, Message = "Conntrack entries in {Where} carry counters again")]
    private static partial void LogCountersBack(ILogger logger, string where);
}
