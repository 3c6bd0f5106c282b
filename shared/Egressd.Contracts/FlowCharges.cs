using System.Text.Json.Serialization;

namespace Egressd.Contracts;

/// <summary>
/// What a flow's window cost the pod at its source end (the local pod, observed by its own node), by
/// line of the bill, in pico-dollars (10^-12 US dollars). Integers, so any number of them add up
/// exactly; pico, because one window of a small flow costs less than a micro-dollar and rounding it
/// away flow by flow would lose real money. Zero when cost is off or the traffic is free.
/// </summary>
public readonly record struct FlowCharges
{
    public const long PicodollarsPerDollar = 1_000_000_000_000;

    /// <summary>What the pod sent, at its class's egress price.</summary>
    public long Egress { get; init; }

    /// <summary>What the pod received, where the provider charges the receiver (AWS between zones).</summary>
    public long Ingress { get; init; }

    /// <summary>A NAT gateway's processing of the pod's internet traffic, both directions.</summary>
    public long Nat { get; init; }

    [JsonIgnore]
    public long Total => Egress + Ingress + Nat;

    [JsonIgnore]
    public bool IsZero => Egress == 0 && Ingress == 0 && Nat == 0;
}
