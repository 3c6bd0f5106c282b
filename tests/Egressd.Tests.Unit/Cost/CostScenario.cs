using Egressd.Contracts;
using Egressd.Shared.Cost;

namespace Egressd.Tests.Cost;

/// <summary>Nodes and endpoints the cost tests price traffic for.</summary>
internal static class CostScenario
{
    public const long Gigabyte = 1_000_000_000;
    public const long Gibibyte = 1L << 30;

    public static readonly CloudProvider[] Providers = [CloudProvider.Aws, CloudProvider.Gcp, CloudProvider.Azure, CloudProvider.Unknown];

    public static NodePlacement Node(CloudProvider provider, string zone = "zone-a", string region = "region-1", bool behindNat = false) =>
        new() { Provider = provider, Zone = zone, Region = region, BehindNat = behindNat };

    public static CostEndpoints From(NodePlacement local, string? remoteZone = null, string? remoteRegion = null, string? remoteAddress = null) => new()
    {
        Local = local,
        RemoteZone = remoteZone,
        RemoteRegion = remoteRegion,
        RemoteAddress = remoteAddress is null ? IpAddr.None : IpAddr.Parse(remoteAddress),
    };

    public static PriceModel Model(Action<CostOptions>? configure = null)
    {
        var options = new CostOptions();
        configure?.Invoke(options);
        return new PriceModel(options);
    }

    /// <summary>What <paramref name="bytes"/> cost at <paramref name="dollarsPerUnit"/> per <paramref name="unitBytes"/>, the way a bill states it.</summary>
    public static Money Dollars(decimal dollarsPerUnit, long bytes, long unitBytes)
    {
        // Independent of the model's own arithmetic: nano-dollars × bytes / unit, in the scaled unit.
        var nanoPerUnit = (Int128)(long)(dollarsPerUnit * 1_000_000_000m);
        var scaled = nanoPerUnit * bytes * BytePrice.Scale;
        Assert.Equal(Int128.Zero, scaled % unitBytes);
        return new Money(scaled / unitBytes);
    }
}
