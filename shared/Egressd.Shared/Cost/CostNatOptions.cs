namespace Egressd.Shared.Cost;

/// <summary>Settings under <c>Egressd:Cost:Nat</c>: which nodes reach the internet through a NAT gateway.</summary>
public sealed class CostNatOptions
{
    /// <summary>Charge NAT processing at all; off when the nodes' way out is priced some other way.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Labels (<c>key=value,key=value</c>) of nodes behind NAT even though they have an external address.</summary>
    public string? NodeSelector { get; set; }

    /// <summary>Node addresses in these ranges (private subnets) are behind NAT even though they have an external address.</summary>
    public List<string> NodeCidrs { get; set; } = [];
}
