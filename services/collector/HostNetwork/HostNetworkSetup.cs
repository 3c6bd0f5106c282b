using System.Diagnostics;
using System.Runtime.Versioning;
using Egressd.Collector.Pods;

namespace Egressd.Collector.HostNetwork;

/// <summary>
/// Decides at start whether node-address flows can be attributed by their sockets, and says once
/// why not: socket diagnostics report a socket's cgroup since Linux 5.8, and only a cgroup v2
/// hierarchy names it by the inode number the kernel reports. Without either, node-address flows
/// are not reported, as before.
/// </summary>
[SupportedOSPlatform("linux")]
internal static partial class HostNetworkSetup
{
    /// <param name="newEvents">Listen to conntrack's new-entry events to look up short connections' sockets at once (the netfilter source).</param>
    public static IHostNetworkAttribution? Create(CollectorOptions options, ILocalPods pods, HostNetworkMetrics metrics, ILogger logger, string? kernelRelease = null, bool newEvents = false)
    {
        if (!options.HostNetworkAttribution)
        {
            return null;
        }

        kernelRelease ??= File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "";
        if (!KernelAtLeast(kernelRelease, 5, 8))
        {
            LogOldKernel(logger, kernelRelease);
            return null;
        }

        var root = options.CgroupRoot;
        if (!Directory.Exists(root))
        {
            LogNoCgroupMount(logger, root);
            return null;
        }

        if (!CgroupDirectories.IsUnifiedRoot(root))
        {
            // A hybrid host mounts cgroup v2 beside the v1 controllers; systemd's units and kubelet's
            // slices are there too.
            var unified = Path.Combine(root, "unified");
            if (!CgroupDirectories.IsUnifiedRoot(unified))
            {
                return ProcessFallback(options, pods, metrics, logger, root);
            }

            root = unified;
        }

        var netns = options.NetnsPath();
        LogEnabled(logger, root);
        OpenedConnections? opened = null;
        ConntrackNewEventListener? listener = null;
        if (newEvents && options.HostNetworkNewEvents)
        {
            try
            {
                opened = new OpenedConnections(options.MaxNewHostConnections);
                listener = new ConntrackNewEventListener(netns, pods, opened, metrics, logger);
                ConntrackNewEventListener.LogListening(logger);
            }
            catch (Netfilter.NetlinkException ex)
            {
                // Without it, what lives through a read is still attributed by the dump.
                ConntrackNewEventListener.LogCannotListen(logger, ex.Message);
                opened = null;
            }
        }

        return new HostNetworkAttribution(
            Dumper(netns, metrics, socket => socket),
            new CgroupDirectories(root),
            pods,
            opened,
            metrics)
        {
            Listener = listener,
        };
    }

    /// <summary>
    /// Cgroup v1: sockets are found among the open files of hostNetwork pods' processes
    /// (<see cref="ProcessCgroups"/>) when the host's processes are at <see cref="CollectorOptions.ProcRoot"/>.
    /// No new-entry lookups: what a connection's new event could find is its cgroup v2 id, which names no pod here.
    /// </summary>
    private static HostNetworkAttribution? ProcessFallback(CollectorOptions options, ILocalPods pods, HostNetworkMetrics metrics, ILogger logger, string root)
    {
        var proc = options.ProcRoot;
        if (proc.Length == 0 || !Directory.Exists(proc))
        {
            LogCgroupV1(logger, root);
            return null;
        }

        var processes = new ProcessCgroups(proc, pods);
        LogProcessFallback(logger, root, proc);
        return new HostNetworkAttribution(
            Dumper(options.NetnsPath(), metrics, socket => socket with { CgroupId = processes.IdOf(socket.Inode) }),
            processes,
            pods,
            metrics: metrics);
    }

    /// <summary>A socket dump of the node's namespace (opened at the first), timed and counted, each socket seen through <paramref name="map"/>.</summary>
    private static Action<Action<SocketRecord>> Dumper(string? netns, HostNetworkMetrics metrics, Func<SocketRecord, SocketRecord> map)
    {
        SocketDiagnostics? diagnostics = null;
        return onSocket =>
        {
            var started = Stopwatch.GetTimestamp();
            diagnostics ??= SocketDiagnostics.Open(netns);
            var count = 0;
            diagnostics.Dump(socket =>
            {
                count++;
                onSocket(map(socket));
            });
            metrics.Sockets.Set(count);
            metrics.RefreshSeconds.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        };
    }

    /// <summary>True when a release string (<c>6.18.44-fc</c>) is at least <paramref name="major"/>.<paramref name="minor"/>.</summary>
    public static bool KernelAtLeast(string release, int major, int minor)
    {
        var parts = release.Split('.', '-');
        return parts.Length >= 2 && int.TryParse(parts[0], out var a) && int.TryParse(parts[1], out var b) && (a > major || (a == major && b >= minor));
    }

    [LoggerMessage(EventId = 2601, Level = LogLevel.Warning,
        Message = "Kernel {Release} is older than 5.8: its sockets carry no cgroup id, so flows of the node's addresses (hostNetwork pods, the node itself) are not reported")]
    private static partial void LogOldKernel(ILogger logger, string release);

    [LoggerMessage(EventId = 2602, Level = LogLevel.Warning,
        Message = "No cgroup hierarchy at {Root} (Egressd:Collector:CgroupRoot; the chart mounts the host's /sys/fs/cgroup): flows of the node's addresses (hostNetwork pods, the node itself) are not reported")]
    private static partial void LogNoCgroupMount(ILogger logger, string root);

    [LoggerMessage(EventId = 2603, Level = LogLevel.Warning,
        Message = "{Root} is a cgroup v1 hierarchy with no cgroup v2 beside it: sockets name no pod's cgroup, and no host processes to look in (Egressd:Collector:ProcRoot; the chart's collector.cgroup.v1Processes), so flows of the node's addresses (hostNetwork pods, the node itself) are not reported")]
    private static partial void LogCgroupV1(ILogger logger, string root);

    [LoggerMessage(EventId = 2610, Level = LogLevel.Information,
        Message = "{Root} is a cgroup v1 hierarchy: flows of the node's addresses attributed by finding their sockets among the open files of hostNetwork pods' processes in {Proc}; connections that open and close between two reads go to the node")]
    private static partial void LogProcessFallback(ILogger logger, string root, string proc);

    [LoggerMessage(EventId = 2604, Level = LogLevel.Information,
        Message = "Flows of the node's addresses attributed by their sockets' cgroups under {Root}")]
    private static partial void LogEnabled(ILogger logger, string root);
}
