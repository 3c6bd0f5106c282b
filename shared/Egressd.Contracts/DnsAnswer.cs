namespace Egressd.Contracts;

/// <summary>An address record the collector saw in a DNS answer on its node.</summary>
public sealed record DnsAnswer
{
    public required IpAddr Ip { get; init; }

    /// <summary>The name that was asked for (the head of a CNAME chain), without the trailing dot.</summary>
    public required string Name { get; init; }

    /// <summary>When the answer's TTL runs out.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
}
