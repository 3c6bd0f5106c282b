namespace Egressd.Shared.Cost;

/// <summary>What a destination rule does to the traffic it matches.</summary>
internal enum CostDestinationKind
{
    /// <summary>Costs nothing, NAT included: a gateway endpoint, a prefix list that bypasses NAT.</summary>
    Free,

    /// <summary>The sender pays the rule's rate and nothing else: an interconnect, an on-premises range.</summary>
    Priced,

    /// <summary>Priced as the rule's traffic class.</summary>
    Classed,

    /// <summary>In the rule's zone and region, classed against the sender's.</summary>
    Placed,
}
