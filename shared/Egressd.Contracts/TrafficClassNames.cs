namespace Egressd.Contracts;

/// <summary>The wire and label name of each <see cref="TrafficClass"/>: one spelling everywhere.</summary>
public static class TrafficClassNames
{
    public const string Unknown = "unknown";
    public const string SameNode = "same-node";
    public const string SameZone = "same-zone";
    public const string CrossZone = "cross-zone";
    public const string CrossRegion = "cross-region";
    public const string Internet = "internet";
    public const string PrivateExternal = "private-external";

    public static string Name(this TrafficClass trafficClass) => trafficClass switch
    {
        TrafficClass.SameNode => SameNode,
        TrafficClass.SameZone => SameZone,
        TrafficClass.CrossZone => CrossZone,
        TrafficClass.CrossRegion => CrossRegion,
        TrafficClass.Internet => Internet,
        TrafficClass.PrivateExternal => PrivateExternal,
        _ => Unknown,
    };
}
