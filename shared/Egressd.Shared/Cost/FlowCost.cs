namespace Egressd.Shared.Cost;

/// <summary>What both directions of one flow cost the pod that owns it, by charge.</summary>
public readonly record struct FlowCost(Money Egress, Money Ingress, Money Nat)
{
    public static FlowCost Zero => default;

    public Money Total => Egress + Ingress + Nat;

    public bool IsZero => Total == Money.Zero;

    public Money this[ChargeKind kind] => kind switch
    {
        ChargeKind.Egress => Egress,
        ChargeKind.Ingress => Ingress,
        _ => Nat,
    };

    /// <summary>As the enriched wire carries it: each charge in pico-dollars.</summary>
    public Egressd.Contracts.FlowCharges ToCharges() => new()
    {
        Egress = (long)Egress.PicoDollars,
        Ingress = (long)Ingress.PicoDollars,
        Nat = (long)Nat.PicoDollars,
    };

    public static FlowCost operator +(FlowCost left, FlowCost right) =>
        new(left.Egress + right.Egress, left.Ingress + right.Ingress, left.Nat + right.Nat);

    public static FlowCost Add(FlowCost left, FlowCost right) => left + right;
}
