namespace Egressd.Collector.Dns;

/// <summary>How a DNS response travelled.</summary>
internal enum DnsTransport
{
    /// <summary>Not a DNS response from port 53 (or a fragment, or a TCP segment without data).</summary>
    None,
    Udp,
    Tcp,
}
