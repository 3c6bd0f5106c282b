namespace Egressd.Collector.Flows;

/// <summary>Byte and packet counters in both directions.</summary>
public readonly record struct FlowCounters(ulong TxBytes, ulong RxBytes, ulong TxPackets, ulong RxPackets)
{
    public FlowCounters Add(FlowCounters other) =>
        new(TxBytes + other.TxBytes, RxBytes + other.RxBytes, TxPackets + other.TxPackets, RxPackets + other.RxPackets);

    public bool IsZero => TxBytes == 0 && RxBytes == 0 && TxPackets == 0 && RxPackets == 0;
}
