namespace Egressd.Shared.Cost;

/// <summary>The volume a list price is quoted per: AWS and Azure quote per GB, Google per GiB.</summary>
public enum PriceUnit
{
    /// <summary>10^9 bytes.</summary>
    Gigabyte,

    /// <summary>2^30 bytes.</summary>
    Gibibyte,
}
