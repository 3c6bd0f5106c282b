namespace Egressd.Shared.Cost;

/// <summary>Where a node is, as far as its traffic's price goes: its cloud, region and zone, and whether it reaches the internet through NAT.</summary>
public sealed record NodePlacement
{
    public static readonly NodePlacement Unknown = new();

    public CloudProvider Provider { get; init; }

    public string? Region { get; init; }

    public string? Zone { get; init; }

    /// <summary>Its internet traffic goes through a NAT gateway, which charges processing both ways.</summary>
    public bool BehindNat { get; init; }
}
