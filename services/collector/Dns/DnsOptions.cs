namespace Egressd.Collector.Dns;

/// <summary>Settings under <c>Egressd:Collector:Dns</c>: naming internet destinations from the node's DNS answers.</summary>
public sealed class DnsOptions
{
    public const string Section = "Egressd:Collector:Dns";

    /// <summary>Capture DNS responses (needs CAP_NET_RAW; without it the collector runs on without names).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Shortest time an answer names its address. Connections outlive the TTLs of the names that
    /// found them (a 5 s TTL is common), and a flow is read up to a read interval after it starts.
    /// </summary>
    public TimeSpan MinTtl { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Longest time an answer names its address, however long its TTL.</summary>
    public TimeSpan MaxTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Most addresses kept; the least recently answered goes first.</summary>
    public int MaxEntries { get; set; } = 100_000;

    /// <summary>Kernel receive buffer of the capture socket; raise it when <c>egressd_dns_capture_drops_total</c> counts.</summary>
    public int ReceiveBufferBytes { get; set; } = 4 << 20;
}
