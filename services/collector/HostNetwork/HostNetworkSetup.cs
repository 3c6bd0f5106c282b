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
                LogCgroupV1(logger, root);
                return null;
            }

            root = unified;
        }

        var netns = options.NetnsPath();
        SocketDiagnostics? diagnostics = null;
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
            onSocket =>
            {
                var started = Stopwatch.GetTimestamp();
                diagnostics ??= SocketDiagnostics.Open(netns);
                var count = 0;
                diagnostics.Dump(socket =>
                {
                    count++;
                    onSocket(socket);
                });
                metrics.Sockets.Set(count);
                metrics.RefreshSeconds.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            },
            new CgroupDirectories(root),
            pods,
            opened,
            metrics)
        {
            Listener = listener,
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
        Message = "{Root} is a cgroup v1 hierarchy with no cgroup v2 beside it: sockets name no pod's cgroup, so flows of the node's addresses (hostNetwork pods, the node itself) are not reported")]
    private static partial void LogCgroupV1(ILogger logger, string root);

    [LoggerMessage(EventId = 2604, Level = LogLevel.Information,
        Message = "Flows of the node's addresses attributed by their sockets' cgroups under {Root}")]
    private static partial void LogEnabled(ILogger logger, string root);
}
