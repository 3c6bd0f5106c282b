using System.Runtime.Versioning;
using Egressd.Collector.Flows;
using Egressd.Collector.Pods;

namespace Egressd.Collector.HostNetwork;

/// <summary>
/// Attributes node-address flows by their sockets: the socket table (<see cref="HostSocketTable"/>)
/// gives the cgroup, the cgroup's path (<see cref="ICgroupPaths"/>) the pod uid or systemd unit
/// (<see cref="KubeletCgroup"/>), and the node's pod watch the hostNetwork pod with that uid.
/// A connection the dump does not list (opened and closed since the last read) is found in
/// <paramref name="opened"/>, the cgroups looked up when conntrack reported it new.
/// A pod cgroup whose pod the watch does not know yet stays unresolved, so the next read tries again.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class HostNetworkAttribution(Action<Action<SocketRecord>> dumpSockets, ICgroupPaths cgroups, ILocalPods pods, OpenedConnections? opened = null, HostNetworkMetrics? metrics = null) : IHostNetworkAttribution, IDisposable
{
    private long droppedReported;

    private readonly HostSocketTable sockets = new();
    private readonly Dictionary<ulong, (string? Uid, string? Unit, bool Known)> parsed = [];

    public HostSocketTable Sockets => sockets;

    /// <summary>The new-entry event listener that feeds the opened connections, stopped with this.</summary>
    public IDisposable? Listener { get; init; }

    public void BeginRead()
    {
        cgroups.BeginRead();
        sockets.Refresh(dumpSockets);
        if (opened is not null)
        {
            opened.BeginRead();
            metrics?.Remembered.Set(opened.Count);
            var dropped = opened.Dropped;
            metrics?.RememberedDropped.Inc(dropped - droppedReported);
            droppedReported = dropped;
        }
        if (parsed.Count > 4 * Math.Max(1024, cgroups.Count))
        {
            // Cgroups come and go with pods; what was learnt of gone ones is dropped now and then.
            parsed.Clear();
        }
    }

    public HostOwner Resolve(in ConntrackTuple tuple)
    {
        var cgroup = sockets.Connected(tuple.Protocol, tuple.Source, tuple.SourcePort, tuple.Destination, tuple.DestinationPort);
        if (cgroup == 0 && opened is not null)
        {
            cgroup = opened.Find(tuple.Protocol, tuple.Source, tuple.SourcePort, tuple.Destination, tuple.DestinationPort);
        }

        if (cgroup == 0)
        {
            cgroup = sockets.Listening(tuple.Protocol, tuple.Source, tuple.SourcePort);
        }

        if (cgroup == 0)
        {
            return HostOwner.Unresolved;
        }

        if (!parsed.TryGetValue(cgroup, out var who))
        {
            var path = cgroups.PathOf(cgroup);
            who = path is null ? (null, null, false) : (KubeletCgroup.Parse(path) is var (uid, unit) ? (uid, unit, true) : default);
            if (who.Known)
            {
                parsed[cgroup] = who;
            }
        }

        if (!who.Known)
        {
            // A cgroup that is no directory (gone already): some process of the node's, nobody more exact.
            return new HostOwner(HostOutcome.Node);
        }

        if (who.Uid is null)
        {
            return new HostOwner(HostOutcome.Node, Unit: who.Unit);
        }

        return !pods.TryGetHostNetworkPod(who.Uid, out var pod) ? HostOwner.Unresolved
            : pod is null ? new HostOwner(HostOutcome.Excluded)
            : new HostOwner(HostOutcome.Pod, pod);
    }

    public void Ended(in ConntrackTuple tuple, uint conntrackId) =>
        opened?.Ended(tuple.Protocol, tuple.Source, tuple.SourcePort, tuple.Destination, tuple.DestinationPort, conntrackId);

    public void Dispose() => Listener?.Dispose();
}
