namespace Egressd.Shared.Cost;

/// <summary>The label value of each <see cref="ChargeKind"/>: one spelling everywhere.</summary>
public static class ChargeKindNames
{
    public const string Egress = "egress";
    public const string Ingress = "ingress";
    public const string Nat = "nat";

    public static string Name(this ChargeKind kind) => kind switch
    {
        ChargeKind.Egress => Egress,
        ChargeKind.Ingress => Ingress,
        _ => Nat,
    };
}
