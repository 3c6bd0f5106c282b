using System.Text.Json.Serialization;

namespace Egressd.Contracts;

/// <summary>Where traffic goes, relative to where it came from. Decides what it costs.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TrafficClass>))]
public enum TrafficClass
{
    /// <summary>Not enough is known about either end to say.</summary>
    [JsonStringEnumMemberName("unknown")]
    Unknown,

    [JsonStringEnumMemberName("same-node")]
    SameNode,

    [JsonStringEnumMemberName("same-zone")]
    SameZone,

    [JsonStringEnumMemberName("cross-zone")]
    CrossZone,

    [JsonStringEnumMemberName("cross-region")]
    CrossRegion,

    /// <summary>A public address outside the cluster.</summary>
    [JsonStringEnumMemberName("internet")]
    Internet,

    /// <summary>A private address that is neither a pod nor a node of the cluster.</summary>
    [JsonStringEnumMemberName("private-external")]
    PrivateExternal,
}
