using Egressd.Contracts;

namespace Egressd.Collector.Flows;

/// <summary>What deltas are summed by. The original destination is part of the key so traffic to a
/// service and straight to its backend stay apart.</summary>
public readonly record struct FlowKey(string SourceIp, string DestinationIp, string? OriginalDestinationIp, int Protocol)
{
    public static FlowKey Of(FlowRecord flow) => new(flow.SourceIp, flow.DestinationIp, flow.OriginalDestinationIp, flow.Protocol);
}

/// <summary>Byte and packet counters in both directions.</summary>
public record struct FlowCounters(ulong TxBytes, ulong RxBytes, ulong TxPackets, ulong RxPackets)
{
    public static FlowCounters Of(FlowRecord flow) => new(flow.TxBytes, flow.RxBytes, flow.TxPackets, flow.RxPackets);

    public readonly FlowCounters Add(FlowCounters other) =>
        new(TxBytes + other.TxBytes, RxBytes + other.RxBytes, TxPackets + other.TxPackets, RxPackets + other.RxPackets);

    public readonly bool IsZero => TxBytes == 0 && RxBytes == 0 && TxPackets == 0 && RxPackets == 0;
}
