using System.Text.Json.Serialization;

namespace Egressd.Contracts;

/// <summary>Where the collector read its connection tracking from.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FlowSource>))]
public enum FlowSource
{
    /// <summary>Linux netfilter conntrack over netlink.</summary>
    [JsonStringEnumMemberName("netfilter")]
    Netfilter,

    /// <summary>Cilium's eBPF conntrack maps.</summary>
    [JsonStringEnumMemberName("cilium")]
    Cilium,

    /// <summary>A recorded JSON-lines file replayed for demos and tests.</summary>
    [JsonStringEnumMemberName("replay")]
    Replay,
}
