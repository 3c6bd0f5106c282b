using Egressd.Contracts;

namespace Egressd.Shared.Cost;

/// <summary>
/// What pricing one side of a flow needs to know: the node of the pod that pays (the flow's local
/// end, observed by its own collector) and where the other end is.
/// </summary>
public readonly record struct CostEndpoints
{
    /// <summary>The paying pod's node.</summary>
    public required NodePlacement Local { get; init; }

    /// <summary>The other end's zone, when it is in the cluster.</summary>
    public string? RemoteZone { get; init; }

    /// <summary>The other end's region, when it is in the cluster.</summary>
    public string? RemoteRegion { get; init; }

    /// <summary>The other end's address, for the destination rules; <see cref="IpAddr.None"/> skips them.</summary>
    public IpAddr RemoteAddress { get; init; }
}
