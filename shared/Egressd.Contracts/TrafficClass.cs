using System.Text.Json.Serialization;

namespace Egressd.Contracts;

/// <summary>Where traffic goes, relative to where it came from. Decides what it costs.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TrafficClass>))]
public enum TrafficClass
{
    /// <summary>Not enough is known about either end to say.</summary>
    [JsonStringEnumMemberName(TrafficClassNames.Unknown)]
    Unknown,

    [JsonStringEnumMemberName(TrafficClassNames.SameNode)]
    SameNode,

    [JsonStringEnumMemberName(TrafficClassNames.SameZone)]
    SameZone,

    [JsonStringEnumMemberName(TrafficClassNames.CrossZone)]
    CrossZone,

    [JsonStringEnumMemberName(TrafficClassNames.CrossRegion)]
    CrossRegion,

    /// <summary>A public address outside the cluster.</summary>
    [JsonStringEnumMemberName(TrafficClassNames.Internet)]
    Internet,

    /// <summary>A private address that is neither a pod nor a node of the cluster.</summary>
    [JsonStringEnumMemberName(TrafficClassNames.PrivateExternal)]
    PrivateExternal,
}
