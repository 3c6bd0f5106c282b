using Egressd.Contracts;

namespace Egressd.Collector.Dns;

/// <summary>
/// One A, AAAA or CNAME record of an answer section: its owner name, TTL in seconds, and either
/// an address (A, AAAA) or the canonical name it points to (CNAME).
/// </summary>
internal readonly record struct DnsAnswerRecord(string Owner, uint Ttl, IpAddr Address, string? Target)
{
    public bool IsAlias => Target is not null;
}
