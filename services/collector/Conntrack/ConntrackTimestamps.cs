using System.Runtime.Versioning;

namespace Egressd.Collector.Conntrack;

/// <summary>
/// net.netfilter.nf_conntrack_timestamp: with it each new entry records when it started
/// (CTA_TIMESTAMP). The kernel reuses a conntrack slot, and with it the entry's id, when a
/// client reopens the same 4-tuple; only the start time tells the successor from its
/// predecessor, and tells a connection opened while the collector was down from an older one.
/// Per namespace, like accounting; entries made before it was turned on keep no start time.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class ConntrackTimestamps
{
    private const string Path = "/proc/sys/net/netfilter/nf_conntrack_timestamp";

    /// <summary>True, false, or null when the setting cannot be read (conntrack not loaded there).</summary>
    public static bool? IsEnabled(string? netns) => NetlinkSocket.InNamespace(netns, () =>
        File.Exists(Path) ? File.ReadAllText(Path).Trim() == "1" : (bool?)null);

    /// <summary>Turns timestamps on; throws when not allowed (needs CAP_NET_ADMIN and a writable /proc/sys).</summary>
    public static void Enable(string? netns) => NetlinkSocket.InNamespace(netns, () =>
    {
        File.WriteAllText(Path, "1\n");
        return true;
    });
}
