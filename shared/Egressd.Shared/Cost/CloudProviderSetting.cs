namespace Egressd.Shared.Cost;

/// <summary>The value of <c>Egressd:Cost:Provider</c>: detect each node's cloud, or name one for the whole cluster.</summary>
public enum CloudProviderSetting
{
    /// <summary>From each node's <c>spec.providerID</c>.</summary>
    Auto,
    Aws,
    Gcp,
    Azure,

    /// <summary>No built-in prices: only the configured ones apply.</summary>
    None,
}
