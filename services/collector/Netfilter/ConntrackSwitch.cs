using System.Runtime.Versioning;
using Egressd.Collector.Native;

namespace Egressd.Collector.Netfilter;

/// <summary>
/// A per-namespace conntrack sysctl the collector needs on, read and written from a thread inside
/// the namespace (what egressd's init container does with sysctl). Entries made before it was
/// turned on keep what it adds turned off.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class ConntrackSwitch
{
    /// <summary>nf_conntrack_acct: without it the kernel keeps no byte or packet counters and every entry reads zero.</summary>
    public static readonly ConntrackSwitch Accounting = new(
        "nf_conntrack_acct", $"{CollectorOptions.Section}:{nameof(CollectorOptions.EnableAccounting)}", "counters read zero");

    /// <summary>
    /// nf_conntrack_timestamp: with it each new entry records when it started (CTA_TIMESTAMP). The
    /// kernel reuses a conntrack slot, and with it the entry's id, when a client reopens the same
    /// 4-tuple; only the start time tells the successor from its predecessor, and tells a
    /// connection opened while the collector was down from an older one.
    /// </summary>
    public static readonly ConntrackSwitch Timestamps = new(
        "nf_conntrack_timestamp", $"{CollectorOptions.Section}:{nameof(CollectorOptions.EnableTimestamps)}",
        "a reopened 4-tuple can be miscounted and a restart takes live connections as a baseline");

    private readonly string path;

    private ConntrackSwitch(string name, string setting, string withoutIt)
    {
        path = $"/proc/sys/net/netfilter/{name}";
        Sysctl = $"net.netfilter.{name}";
        Setting = setting;
        WithoutIt = withoutIt;
    }

    public string Sysctl { get; }

    /// <summary>The collector setting that lets it turn the switch on.</summary>
    public string Setting { get; }

    /// <summary>What goes wrong while it is off, for log lines.</summary>
    public string WithoutIt { get; }

    /// <summary>True, false, or null when the setting cannot be read (conntrack not loaded there).</summary>
    public bool? IsEnabled(string? netns) => NetworkNamespace.Run(netns, () =>
        File.Exists(path) ? File.ReadAllText(path).Trim() == "1" : (bool?)null);

    /// <summary>Turns it on; throws when not allowed (needs CAP_NET_ADMIN and a writable /proc/sys).</summary>
    public void Enable(string? netns) => NetworkNamespace.Run(netns, () =>
    {
        File.WriteAllText(path, "1\n");
        return true;
    });
}
