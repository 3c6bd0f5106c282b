using Egressd.Contracts;

namespace Egressd.Shared.Cost;

/// <summary>
/// What one direction of a pod's traffic costs it: the transfer itself (<see cref="ChargeKind.Egress"/>
/// for what it sent, <see cref="ChargeKind.Ingress"/> for what it received) and, separately, a NAT
/// gateway's processing (<see cref="ChargeKind.Nat"/>).
/// </summary>
public readonly record struct TransferCharge
{
    /// <summary><see cref="ChargeKind.Egress"/> or <see cref="ChargeKind.Ingress"/>.</summary>
    public ChargeKind Kind { get; init; }

    public Money Amount { get; init; }

    public Money Nat { get; init; }

    /// <summary>The class the bytes were priced as: the flow's own, unless a destination rule gave another.</summary>
    public TrafficClass PricedAs { get; init; }

    public Money Total => Amount + Nat;
}
