namespace Egressd.Shared.Cost;

/// <summary>
/// One destination rule under <c>Egressd:Cost:Destinations:N</c>: addresses that are free, priced at
/// their own rate, classed as a traffic class, or placed in a zone (and region). Exactly one of
/// <see cref="Price"/>, <see cref="Class"/> or <see cref="Zone"/>/<see cref="Region"/>.
/// </summary>
public sealed class CostDestinationOptions
{
    public List<string> Cidrs { get; set; } = [];

    /// <summary><c>free</c> (a gateway endpoint, an S3 prefix list), or the rate the sender pays (an interconnect).</summary>
    public string? Price { get; set; }

    /// <summary>A traffic class the destination is priced as (<c>cross-zone</c>, ...).</summary>
    public string? Class { get; set; }

    /// <summary>The zone the addresses are in, priced against the sender's zone.</summary>
    public string? Zone { get; set; }

    /// <summary>The region the addresses are in, priced against the sender's region.</summary>
    public string? Region { get; set; }
}
