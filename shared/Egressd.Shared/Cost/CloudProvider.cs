namespace Egressd.Shared.Cost;

/// <summary>The cloud a node runs in, which decides whose list prices its traffic pays.</summary>
public enum CloudProvider
{
    /// <summary>Not a cloud egressd has prices for (bare metal, kind, k3s): only configured prices apply.</summary>
    Unknown,
    Aws,
    Gcp,
    Azure,
}
