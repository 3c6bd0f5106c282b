namespace Egressd.Shared.Cost;

/// <summary>Which line of the bill an amount belongs to.</summary>
public enum ChargeKind
{
    /// <summary>What the pod sent, at its class's price.</summary>
    Egress,

    /// <summary>What the pod received, where the provider charges the receiver too (AWS between zones).</summary>
    Ingress,

    /// <summary>A NAT gateway's processing of the pod's internet traffic, both directions.</summary>
    Nat,
}
