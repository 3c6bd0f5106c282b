using Egressd.Collector.Cilium;
using Egressd.Collector.Flows;
using Egressd.Contracts;

namespace Egressd.Collector;

/// <summary>Settings under <c>Egressd:Collector</c>.</summary>
public sealed class CollectorOptions
{
    public const string Section = "Egressd:Collector";

    /// <summary>This node's name; defaults to the NODE_NAME environment variable, else the host name.</summary>
    public string? NodeName { get; set; }

    /// <summary>How often connection tracking is read; each read closes one window.</summary>
    public TimeSpan ReadInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Where flows come from: <c>Auto</c> (Cilium's maps when Cilium's globals are pinned under
    /// <see cref="BpfRoot"/>, as egressd detects it, else netfilter), <c>Netfilter</c>, <c>Cilium</c>
    /// or <c>Replay</c> (a recorded JSON-lines file). A setting of its own, not the wire's
    /// <see cref="FlowSource"/>: <c>Auto</c> is a choice, never a source a batch comes from.
    /// </summary>
    public CollectorSource Source { get; set; } = CollectorSource.Auto;

    /// <summary>Where the bpf filesystem holding Cilium's pinned maps is mounted.</summary>
    public string BpfRoot { get; set; } = "/sys/fs/bpf";

    /// <summary>Cilium's counter layout: <c>Auto</c> (told by the entries), <c>Split</c> (1.14, 1.15) or <c>Combined</c> (1.16 and later).</summary>
    public CiliumCounterLayout CiliumCounters { get; set; } = CiliumCounterLayout.Auto;

    /// <summary>The clock of Cilium's entry lifetimes: <c>Auto</c>, <c>Ktime</c> or <c>Jiffies</c>.</summary>
    public CiliumClockSource CiliumClock { get; set; } = CiliumClockSource.Auto;

    /// <summary>The network namespace to read, e.g. <c>/proc/1/ns/net</c> for the host's from a hostPID pod; empty: the collector's own.</summary>
    public string? Netns { get; set; }

    /// <summary>Turn on net.netfilter.nf_conntrack_acct at start (needs CAP_NET_ADMIN); without it every counter reads zero.</summary>
    public bool EnableAccounting { get; set; } = true;

    /// <summary>
    /// Turn on net.netfilter.nf_conntrack_timestamp at start (needs CAP_NET_ADMIN): each entry's start
    /// time tells a reopened 4-tuple from its predecessor and a connection opened while the collector
    /// was down from an older one.
    /// </summary>
    public bool EnableTimestamps { get; set; } = true;

    /// <summary>
    /// A directory on the node (a host path in Kubernetes) for the restart checkpoint; created 0700.
    /// </summary>
    public string StateDirectory { get; set; } = "/var/lib/egressd";

    /// <summary>Listen to conntrack destroy events, so flows that start and end between two reads are counted.</summary>
    public bool DestroyEvents { get; set; } = true;

    /// <summary>
    /// Kernel receive buffer for destroy events; 0 sizes it to hold a flush of the namespace's full
    /// table (net.netfilter.nf_conntrack_max events). Raise it when the overflow metric counts.
    /// </summary>
    public int EventBufferBytes { get; set; }

    /// <summary>Comma-separated namespaces whose pods are not reported.</summary>
    public string ExcludeNamespaces { get; set; } = "kube-system";

    /// <summary>Report every public destination as 0.0.0.0 or :: (fewer series; egressd's -group-public-ips).</summary>
    public bool GroupPublicDestinations { get; set; }

    /// <summary>The JSON-lines file the <c>replay</c> source reads.</summary>
    public string? ReplayFile { get; set; }

    /// <summary>Replay the file at every read (a steady demo load) instead of once.</summary>
    public bool ReplayLoop { get; set; }

    /// <summary>A window with more flows than this is cut into parts, each its own message.</summary>
    public int MaxFlowsPerPart { get; set; } = 5000;

    /// <summary>
    /// Distinct flow keys kept in full detail while they wait for a window (a broker outage makes them pile up);
    /// past it new keys are summed into grouped destinations, bytes kept. About 100 bytes of memory per key.
    /// </summary>
    public int MaxPendingKeys { get; set; } = PendingFlows.DefaultMaxKeys;

    /// <summary>
    /// Report flows of the node's own addresses, each attributed to the hostNetwork pod whose socket
    /// carries it (found by the socket's cgroup), the rest to the node. Needs Linux 5.8+ and cgroup v2
    /// at <see cref="CgroupRoot"/>, or on cgroup v1 the host's processes at <see cref="ProcRoot"/>.
    /// </summary>
    public bool HostNetworkAttribution { get; set; } = true;

    /// <summary>
    /// With <see cref="HostNetworkAttribution"/> (netfilter source): hear conntrack's new-entry events and
    /// look each new connection from a node address up at once, so connections that open and close
    /// between two reads are attributed too. Off, only what a read's socket dump sees is.
    /// </summary>
    public bool HostNetworkNewEvents { get; set; } = true;

    /// <summary>
    /// New node-address connections whose cgroup (looked up when conntrack reports them new) is
    /// remembered until a read has used it; past it they are dropped and counted. About 100 bytes each;
    /// each is kept for at most three reads, so the default holds over 8,000 new connections a second
    /// at the default read interval.
    /// </summary>
    public int MaxNewHostConnections { get; set; } = 131_072;

    /// <summary>Where the host's cgroup v2 hierarchy is mounted in the collector (the chart mounts the host's /sys/fs/cgroup read-only).</summary>
    public string CgroupRoot { get; set; } = "/sys/fs/cgroup";

    /// <summary>
    /// The host's processes (<c>/proc</c> of the host's PID namespace): on a cgroup v1 node,
    /// node-address flows are attributed by finding each socket among the open files of hostNetwork
    /// pods' processes here. Empty: no such fallback, and a cgroup v1 node reports no node-address flows.
    /// </summary>
    public string ProcRoot { get; set; } = "";

    public string ResolveNodeName() =>
        NodeName is { Length: > 0 } name ? name
        : Environment.GetEnvironmentVariable("NODE_NAME") is { Length: > 0 } env ? env
        : Environment.MachineName;

    public IReadOnlyCollection<string> ExcludedNamespaces() =>
        [.. ExcludeNamespaces.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>The source <see cref="Source"/> names, with <c>Auto</c> decided by looking under <see cref="BpfRoot"/>.</summary>
    public FlowSource ResolveSource() => Source switch
    {
        CollectorSource.Netfilter => FlowSource.Netfilter,
        CollectorSource.Cilium => FlowSource.Cilium,
        CollectorSource.Replay => FlowSource.Replay,
        _ => Directory.Exists(Path.Combine(BpfRoot, "tc", "globals")) ? FlowSource.Cilium : FlowSource.Netfilter,
    };

    public string? NetnsPath() => string.IsNullOrWhiteSpace(Netns) ? null : Netns;
}
