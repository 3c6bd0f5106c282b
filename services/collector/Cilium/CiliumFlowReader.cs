using System.Runtime.Versioning;
using Egressd.Collector.Flows;
using Egressd.Contracts;

namespace Egressd.Collector.Cilium;

/// <summary>
/// The Cilium flow source: one read of Cilium's conntrack maps through the shared reducer into the
/// pending flows. Cilium has no destroy events to listen to; a connection that starts and ends
/// between two reads is seen only if Cilium's garbage collector has not removed it yet.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class CiliumFlowReader(CiliumConntrack conntrack, ConntrackReducer reducer, ILogger logger, ConntrackMetrics metrics, IWindowCheckpoint? checkpoint = null) : IFlowReader
{
    private CiliumCounterLayout reportedLayout = CiliumCounterLayout.Auto;
    private bool reportedEmpty;
    private bool reportedFallback;
    private bool? countersSeen;

    public FlowSource Source => FlowSource.Cilium;

    public IWindowCheckpoint? Checkpoint => checkpoint;

    /// <summary>
    /// Combined unless the entries have shown separate counters: while the layout is still unknown
    /// (Auto, no inbound entry and no answered outbound one yet) an outbound entry's figure may be
    /// either layout's, and marking it combined is the claim that is true of both. Asked when a
    /// window closes: deltas read before the layout was known are what an outbound entry sent
    /// (separate) or its total (combined), so the layout known at closing describes them too.
    /// </summary>
    public FlowCounterDirections CounterDirections => conntrack.Layout == CiliumCounterLayout.Split
        ? FlowCounterDirections.Separate
        : FlowCounterDirections.Combined;

    public ValueTask ReadAsync(CancellationToken cancellationToken)
    {
        reducer.BeginDump();
        conntrack.Dump(reducer);
        reducer.EndDump();
        Report();
        return ValueTask.CompletedTask;
    }

    private void Report()
    {
        metrics.Entries.Set(conntrack.Entries);
        metrics.ActiveEntries.Set(reducer.ActiveEntries);
        metrics.TrackedEntries.Set(reducer.TrackedEntries);
        if (reducer.TakeRestartOutcome(out var restart))
        {
            LogRestartOutcome(logger, restart.Continued, restart.New, restart.Baseline, reducer.UncountedBytes);
        }

        if (!reportedEmpty && conntrack.MapsFound == 0)
        {
            LogNoMaps(logger, Path.GetDirectoryName(conntrack.Maps[0].Path)!);
            reportedEmpty = true;
        }

        if (!reportedFallback && conntrack.Maps.Any(m => m.BatchFallbacks > 0))
        {
            LogNoBatch(logger);
            reportedFallback = true;
        }

        if (conntrack.Layout != reportedLayout)
        {
            if (conntrack.Layout == CiliumCounterLayout.Combined)
            {
                LogCombined(logger);
            }
            else
            {
                LogSplit(logger);
            }

            reportedLayout = conntrack.Layout;
        }

        if (reducer.DumpedEntries > 0)
        {
            var seen = reducer.EntriesWithCounters > 0;
            if (seen != countersSeen && !seen)
            {
                LogNoCounters(logger, reducer.DumpedEntries);
            }

            countersSeen = seen;
        }
    }

    /// <summary>Says at start which clock and layout the reader uses.</summary>
    public void LogStart(string bpfRoot, CiliumCounterLayout layout, CiliumClockSource clock) =>
        LogStarting(logger, bpfRoot, layout, clock, conntrack.Clock.Hz);

    [LoggerMessage(EventId = 2351, Level = LogLevel.Information,
        Message = "Reading Cilium's conntrack maps under {BpfRoot} (counter layout {Layout}, clock {Clock}, kernel HZ {Hz})")]
    private static partial void LogStarting(ILogger logger, string bpfRoot, CiliumCounterLayout layout, CiliumClockSource clock, int hz);

    [LoggerMessage(EventId = 2352, Level = LogLevel.Warning,
        Message = "Cilium keeps one packet and one byte counter per connection for both directions (Cilium 1.16 and later, PR 31087): each flow's transmitted figures hold the connection's total and its received figures read zero; the pod that opened the connection shows it as sent, the pod that accepted it as received")]
    private static partial void LogCombined(ILogger logger);

    [LoggerMessage(EventId = 2353, Level = LogLevel.Information,
        Message = "Cilium keeps separate receive and transmit counters (Cilium 1.15 or earlier)")]
    private static partial void LogSplit(ILogger logger);

    [LoggerMessage(EventId = 2354, Level = LogLevel.Warning,
        Message = "No Cilium conntrack map is pinned in {Directory}: is Cilium the CNI on this node, and the host's /sys/fs/bpf mounted into the collector?")]
    private static partial void LogNoMaps(ILogger logger, string directory);

    [LoggerMessage(EventId = 2355, Level = LogLevel.Information,
        Message = "This kernel has no batch lookup for Cilium's maps (Linux 5.6+); reading them key by key")]
    private static partial void LogNoBatch(ILogger logger);

    [LoggerMessage(EventId = 2357, Level = LogLevel.Information,
        Message = "First read of Cilium's maps: {Continued} connections continue from the restart checkpoint, {Started} seen only since are counted from their start, {Baseline} are taken as they are now; the {Uncounted} bytes those carried before are not counted (egressd_collector_restart_uncounted_bytes_total). Cilium keeps no start time, so a connection opened while the collector restarted is among the last")]
    private static partial void LogRestartOutcome(ILogger logger, int continued, int started, int baseline, ulong uncounted);

    [LoggerMessage(EventId = 2356, Level = LogLevel.Warning,
        Message = "All {Entries} Cilium conntrack entries have zero counters, so every flow reads zero: Cilium 1.16 and later count them only with the agent's conntrack accounting on (its ConntrackAccounting option)")]
    private static partial void LogNoCounters(ILogger logger, int entries);
}
