using System.Runtime.Versioning;

namespace Egressd.Collector.Conntrack;

/// <summary>
/// net.netfilter.nf_conntrack_acct: without it the kernel keeps no byte or packet counters and
/// every entry reads zero. It is a per-namespace setting, read and written from a thread inside
/// the namespace (what egressd's init container does with sysctl).
/// </summary>
[SupportedOSPlatform("linux")]
internal static class ConntrackAccounting
{
    private const string Path = "/proc/sys/net/netfilter/nf_conntrack_acct";

    /// <summary>True, false, or null when the setting cannot be read (conntrack not loaded there).</summary>
    public static bool? IsEnabled(string? netns) => NetlinkSocket.InNamespace(netns, () =>
        File.Exists(Path) ? File.ReadAllText(Path).Trim() == "1" : (bool?)null);

    /// <summary>Turns accounting on; throws when not allowed (needs CAP_NET_ADMIN and a writable /proc/sys).</summary>
    public static void Enable(string? netns) => NetlinkSocket.InNamespace(netns, () =>
    {
        File.WriteAllText(Path, "1\n");
        return true;
    });
}
