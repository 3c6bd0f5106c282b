using Egressd.Contracts;
using Google.Protobuf.Collections;

namespace Egressd.Shared.Wire;

/// <summary>
/// A batch's flow columns, checked once (every column as long as the batch, or absent), read one
/// flow at a time so a decoder can put each record where it belongs without an array in between.
/// </summary>
internal readonly struct FlowColumnsReader
{
    private readonly IpAddr[] addresses;
    private readonly RepeatedField<uint> sources;
    private readonly RepeatedField<uint> destinations;
    private readonly RepeatedField<uint>? originals;
    private readonly RepeatedField<uint>? protocols;
    private readonly RepeatedField<ulong>? txBytes;
    private readonly RepeatedField<ulong>? rxBytes;
    private readonly RepeatedField<ulong>? txPackets;
    private readonly RepeatedField<ulong>? rxPackets;
    private readonly RepeatedField<uint>? sourcePods;
    private readonly RepeatedField<uint>? sourceUnits;
    private readonly IList<string> texts;

    /// <param name="texts">The batch's text table, which the source owner columns refer to.</param>
    public FlowColumnsReader(V2.FlowColumns? columns, IpAddr[] addresses, IList<string> texts)
    {
        this.texts = texts;
        columns ??= new V2.FlowColumns();
        this.addresses = addresses;
        Count = columns.Source.Count;
        sources = columns.Source;
        destinations = FlowWire.Required(columns.Destination, Count, "destination");
        originals = FlowWire.Optional(columns.OriginalDestination, Count, "original_destination");
        protocols = FlowWire.Optional(columns.Protocol, Count, "protocol");
        txBytes = FlowWire.Optional(columns.TxBytes, Count, "tx_bytes");
        rxBytes = FlowWire.Optional(columns.RxBytes, Count, "rx_bytes");
        txPackets = FlowWire.Optional(columns.TxPackets, Count, "tx_packets");
        rxPackets = FlowWire.Optional(columns.RxPackets, Count, "rx_packets");
        sourcePods = FlowWire.Optional(columns.SourcePod, Count, "source_pod");
        sourceUnits = FlowWire.Optional(columns.SourceUnit, Count, "source_unit");
    }

    public int Count { get; }

    public FlowRecord Read(int i)
    {
        var original = originals is null || originals[i] == 0 ? (IpAddr?)null : FlowWire.Address(addresses, originals[i] - 1, "flow", i);
        var protocol = protocols is null ? 0u : protocols[i];
        return new FlowRecord
        {
            SourceIp = FlowWire.Address(addresses, sources[i], "flow", i),
            DestinationIp = FlowWire.Address(addresses, destinations[i], "flow", i),
            OriginalDestinationIp = original,
            Protocol = protocol <= int.MaxValue ? (int)protocol : throw FlowWire.Invalid($"flow {i} has protocol {protocol}"),
            TxBytes = txBytes is null ? 0 : txBytes[i],
            RxBytes = rxBytes is null ? 0 : rxBytes[i],
            TxPackets = txPackets is null ? 0 : txPackets[i],
            RxPackets = rxPackets is null ? 0 : rxPackets[i],
            SourcePod = sourcePods is null ? null : Text(sourcePods[i], i),
            SourceUnit = sourceUnits is null ? null : Text(sourceUnits[i], i),
        };
    }

    private string? Text(uint id, int flow) => id == 0 ? null
        : id <= (uint)texts.Count ? texts[(int)id - 1]
        : throw FlowWire.Invalid($"flow {flow} refers to text {id - 1}, outside the table of {texts.Count}");
}
