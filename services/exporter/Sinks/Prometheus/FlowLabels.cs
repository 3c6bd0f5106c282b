using System.Buffers.Binary;
using System.Collections.Frozen;
using System.Net;
using System.Net.Sockets;
using Egressd.Contracts;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>One label a flow series can carry, and how its value is read from an enriched flow.</summary>
internal sealed record FlowLabel(string Name, Func<EnrichedFlow, FlowLabelContext, string> Value);

/// <summary>What label values need beyond the flow itself.</summary>
internal sealed class FlowLabelContext
{
    private readonly IReadOnlyList<IPNetwork> privateCidrs;
    private readonly (uint Network, uint Mask)[] privateV4;

    public FlowLabelContext(IReadOnlyList<IPNetwork> privateCidrs)
    {
        this.privateCidrs = privateCidrs;
        privateV4 = [.. privateCidrs
            .Where(n => n.BaseAddress.AddressFamily == AddressFamily.InterNetwork)
            .Select(n => (BinaryPrimitives.ReadUInt32BigEndian(n.BaseAddress.GetAddressBytes()), n.PrefixLength == 0 ? 0u : uint.MaxValue << (32 - n.PrefixLength)))];
    }

    /// <summary>
    /// "private" or "public". The enricher's class decides when it knows; until it does (it leaves
    /// the class unknown), the destination address against the private ranges, as egressd does.
    /// </summary>
    public string DestinationIpType(EnrichedFlow flow) => flow.TrafficClass switch
    {
        TrafficClass.Internet => FlowLabels.Public,
        TrafficClass.Unknown => IsPrivate(flow.Flow.DestinationIp) ? FlowLabels.Private : FlowLabels.Public,
        _ => FlowLabels.Private,
    };

    private bool IsPrivate(string ip)
    {
        // Once per flow: dotted quads are read here without IPAddress's allocation and generality.
        if (TryParseIPv4(ip, out var v4))
        {
            foreach (var (network, mask) in privateV4)
            {
                if ((v4 & mask) == network)
                {
                    return true;
                }
            }

            return false;
        }

        if (!IPAddress.TryParse(ip, out var address))
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in privateCidrs)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryParseIPv4(ReadOnlySpan<char> text, out uint value)
    {
        value = 0;
        uint part = 0;
        int digits = 0, dots = 0;
        foreach (var c in text)
        {
            if (c is >= '0' and <= '9')
            {
                part = (part * 10) + (uint)(c - '0');
                if (++digits > 3 || part > 255)
                {
                    return false;
                }
            }
            else if (c == '.' && digits > 0 && dots < 3)
            {
                value = (value << 8) | part;
                part = 0;
                digits = 0;
                dots++;
            }
            else
            {
                return false;
            }
        }

        if (dots != 3 || digits == 0)
        {
            return false;
        }

        value = (value << 8) | part;
        return true;
    }
}

/// <summary>
/// The labels of egressd's metrics and the optional ones we add, and the ready-made sets
/// (cardinality levels). Label values are empty strings when unknown, as in egressd.
/// </summary>
internal static class FlowLabels
{
    public const string Public = "public";
    public const string Private = "private";

    public const string LevelPod = "pod";
    public const string LevelWorkload = "workload";
    public const string LevelNamespace = "namespace";

    /// <summary>Every label a series can have, by name.</summary>
    public static readonly FrozenDictionary<string, FlowLabel> All = new FlowLabel[]
    {
        new("cross_zone", (f, _) => CrossZone(f.Source.Zone, f.Destination.Zone)),
        new("dst_dns_name", (f, _) => f.DestinationDnsName ?? ""),
        new("dst_ip", (f, _) => f.Flow.DestinationIp),
        new("dst_ip_type", (f, c) => c.DestinationIpType(f)),
        new("dst_namespace", (f, _) => f.Destination.Namespace ?? ""),
        new("dst_node", (f, _) => f.Destination.Node ?? ""),
        new("dst_pod", (f, _) => f.Destination.Pod ?? ""),
        new("dst_region", (f, _) => f.Destination.Region ?? ""),
        new("dst_service", (f, _) => f.DestinationService ?? ""),
        new("dst_workload", (f, _) => f.Destination.WorkloadName ?? ""),
        new("dst_zone", (f, _) => f.Destination.Zone ?? ""),
        new("proto", (f, _) => Protocol(f.Flow.Protocol)),
        new("src_ip", (f, _) => f.Flow.SourceIp),
        new("src_namespace", (f, _) => f.Source.Namespace ?? ""),
        new("src_node", (f, _) => f.Source.Node ?? ""),
        new("src_pod", (f, _) => f.Source.Pod ?? ""),
        new("src_region", (f, _) => f.Source.Region ?? ""),
        new("src_workload", (f, _) => f.Source.WorkloadName ?? ""),
        new("src_zone", (f, _) => f.Source.Zone ?? ""),
        new("traffic_class", (f, _) => TrafficClassName(f.TrafficClass)),
    }.Select(l => l with { Value = Capped(l.Name, l.Value) }).ToFrozenDictionary(l => l.Name, StringComparer.Ordinal);

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

    public static readonly IReadOnlyList<string> Levels = [LevelPod, LevelWorkload, LevelNamespace];

    public static IReadOnlyList<string>? LevelLabels(string level) => level.Trim().ToLowerInvariant() switch
    {
        LevelPod => PodLevel,
        LevelWorkload => WorkloadLevel,
        LevelNamespace => NamespaceLevel,
        _ => null,
    };

    /// <summary>The label's values cut to <see cref="MaxValueLength"/> characters, each cut counted by label.</summary>
    private static Func<EnrichedFlow, FlowLabelContext, string> Capped(string name, Func<EnrichedFlow, FlowLabelContext, string> value)
    {
        var truncated = PrometheusSinkMetrics.LabelValuesTruncated.WithLabels(name);
        return (flow, context) =>
        {
            var text = value(flow, context);
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

    public static string TrafficClassName(TrafficClass trafficClass) => trafficClass switch
    {
        TrafficClass.SameNode => "same-node",
        TrafficClass.SameZone => "same-zone",
        TrafficClass.CrossZone => "cross-zone",
        TrafficClass.CrossRegion => "cross-region",
        TrafficClass.Internet => "internet",
        TrafficClass.PrivateExternal => "private-external",
        _ => "unknown",
    };

    // Other protocols are labelled with their number; one string each, not one per flow.
    private static readonly string[] ProtocolNumbers =
        [.. Enumerable.Range(0, 256).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}
