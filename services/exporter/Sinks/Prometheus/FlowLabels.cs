using System.Collections.Frozen;
using Egressd.Contracts;
using Prometheus;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>
/// The labels of egressd's metrics and the optional ones we add, and the ready-made sets
/// (cardinality levels). Label values are empty strings when unknown, as in egressd.
/// </summary>
internal static class FlowLabels
{
    public const string Public = "public";
    public const string Private = "private";

    /// <summary>Every label a series can have, by name.</summary>
    public static readonly FrozenDictionary<string, FlowLabel> All = new FlowLabel[]
    {
        new("cross_zone", (in EnrichedFlow _, FlowEndpoint s, FlowEndpoint d, FlowLabelContext _) => CrossZone(s.Zone, d.Zone)),
        new("dst_dns_name", (in EnrichedFlow f, FlowEndpoint _, FlowEndpoint _, FlowLabelContext _) => f.DestinationDnsName ?? ""),
        new("dst_ip", (in EnrichedFlow f, FlowEndpoint _, FlowEndpoint _, FlowLabelContext _) => f.Flow.DestinationIp.ToString(), FlowLabelSource.DestinationAddress),
        new("dst_ip_type", (in EnrichedFlow f, FlowEndpoint _, FlowEndpoint _, FlowLabelContext c) => c.DestinationIpType(f)),
        new("dst_namespace", (in EnrichedFlow _, FlowEndpoint _, FlowEndpoint d, FlowLabelContext _) => d.Namespace ?? "", FlowLabelSource.DestinationEndpoint),
        new("dst_node", (in EnrichedFlow _, FlowEndpoint _, FlowEndpoint d, FlowLabelContext _) => d.Node ?? "", FlowLabelSource.DestinationEndpoint),
        new("dst_pod", (in EnrichedFlow _, FlowEndpoint _, FlowEndpoint d, FlowLabelContext _) => d.Pod ?? "", FlowLabelSource.DestinationEndpoint),
        new("dst_region", (in EnrichedFlow _, FlowEndpoint _, FlowEndpoint d, FlowLabelContext _) => d.Region ?? "", FlowLabelSource.DestinationEndpoint),
        new("dst_service", (in EnrichedFlow f, FlowEndpoint _, FlowEndpoint _, FlowLabelContext _) => f.DestinationService ?? ""),
        new("dst_workload", (in EnrichedFlow _, FlowEndpoint _, FlowEndpoint d, FlowLabelContext _) => d.WorkloadName ?? "", FlowLabelSource.DestinationEndpoint),
        new("dst_zone", (in EnrichedFlow _, FlowEndpoint _, FlowEndpoint d, FlowLabelContext _) => d.Zone ?? "", FlowLabelSource.DestinationEndpoint),
        new("proto", (in EnrichedFlow f, FlowEndpoint _, FlowEndpoint _, FlowLabelContext _) => Protocol(f.Flow.Protocol)),
        new("src_ip", (in EnrichedFlow f, FlowEndpoint _, FlowEndpoint _, FlowLabelContext _) => f.Flow.SourceIp.ToString(), FlowLabelSource.SourceAddress),
        new("src_namespace", (in EnrichedFlow _, FlowEndpoint s, FlowEndpoint _, FlowLabelContext _) => s.Namespace ?? "", FlowLabelSource.SourceEndpoint),
        new("src_node", (in EnrichedFlow _, FlowEndpoint s, FlowEndpoint _, FlowLabelContext _) => s.Node ?? "", FlowLabelSource.SourceEndpoint),
        new("src_pod", (in EnrichedFlow _, FlowEndpoint s, FlowEndpoint _, FlowLabelContext _) => s.Pod ?? "", FlowLabelSource.SourceEndpoint),
        new("src_region", (in EnrichedFlow _, FlowEndpoint s, FlowEndpoint _, FlowLabelContext _) => s.Region ?? "", FlowLabelSource.SourceEndpoint),
        new("src_workload", (in EnrichedFlow _, FlowEndpoint s, FlowEndpoint _, FlowLabelContext _) => s.WorkloadName ?? "", FlowLabelSource.SourceEndpoint),
        new("src_zone", (in EnrichedFlow _, FlowEndpoint s, FlowEndpoint _, FlowLabelContext _) => s.Zone ?? "", FlowLabelSource.SourceEndpoint),
        new("traffic_class", (in EnrichedFlow f, FlowEndpoint _, FlowEndpoint _, FlowLabelContext _) => f.TrafficClass.Name()),
    }.ToFrozenDictionary(l => l.Name, StringComparer.Ordinal);

    /// <summary>
    /// The longest label value kept: Kubernetes object names and DNS names are at most 253
    /// characters, so anything longer came from a broken or hostile publisher. Kept whole, one
    /// such value made every series line, every scrape and the store's memory as long as it is.
    /// </summary>
    public const int MaxValueLength = 253;

    /// <summary>egressd's labels, exactly: what existing dashboards and alerts query.</summary>
    public static readonly IReadOnlyList<string> PodLevel =
    [
        "cross_zone", "dst_ip", "dst_ip_type", "dst_namespace", "dst_node", "dst_pod", "dst_zone",
        "proto", "src_ip", "src_namespace", "src_node", "src_pod", "src_zone",
    ];

    /// <summary>
    /// Pods folded into their workloads: pod names, their addresses and their nodes go, since each
    /// multiplies series by the replicas and reschedules of one workload.
    /// </summary>
    public static readonly IReadOnlyList<string> WorkloadLevel =
    [
        "cross_zone", "dst_ip_type", "dst_namespace", "dst_workload", "dst_zone",
        "proto", "src_namespace", "src_workload", "src_zone",
    ];

    /// <summary>Namespace to namespace, per zone: what a cost report needs, and little more.</summary>
    public static readonly IReadOnlyList<string> NamespaceLevel =
    [
        "cross_zone", "dst_ip_type", "dst_namespace", "dst_zone", "proto", "src_namespace", "src_zone",
    ];

    public static IReadOnlyList<string> LevelLabels(LabelLevel level) => level switch
    {
        LabelLevel.Workload => WorkloadLevel,
        LabelLevel.Namespace => NamespaceLevel,
        _ => PodLevel,
    };

    /// <summary>The label's values cut to <see cref="MaxValueLength"/> characters, each cut counted on <paramref name="truncated"/>.</summary>
    public static FlowLabelValue Capped(FlowLabelValue value, Counter.Child truncated)
    {
        return (in EnrichedFlow flow, FlowEndpoint source, FlowEndpoint destination, FlowLabelContext context) =>
        {
            var text = value(flow, source, destination, context);
            if (text.Length <= MaxValueLength)
            {
                return text;
            }

            truncated.Inc();
            // Never half a surrogate pair: the cut value must stay valid UTF-16 (and so UTF-8).
            return text[..(char.IsHighSurrogate(text[MaxValueLength - 1]) ? MaxValueLength - 1 : MaxValueLength)];
        };
    }

    public static IReadOnlyList<string> SplitList(string? list) =>
        list is null ? [] : [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>egressd's rule: both zones known and different.</summary>
    public static string CrossZone(string? sourceZone, string? destinationZone) =>
        !string.IsNullOrEmpty(sourceZone) && !string.IsNullOrEmpty(destinationZone) && sourceZone != destinationZone ? "true" : "false";

    public static string Protocol(int protocol) => protocol switch
    {
        6 => "TCP",
        17 => "UDP",
        132 => "SCTP",
        1 => "ICMP",
        58 => "ICMPv6",
        >= 0 and < 256 => ProtocolNumbers[protocol],
        _ => protocol.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    // Other protocols are labelled with their number; one string each, not one per flow.
    private static readonly string[] ProtocolNumbers =
        [.. Enumerable.Range(0, 256).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}
