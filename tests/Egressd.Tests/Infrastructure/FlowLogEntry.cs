using Egressd.Contracts;

namespace Egressd.Tests.Infrastructure;

/// <summary>One flow-log line: flat, snake_case, unknown values absent.</summary>
/// <remarks>
/// Declared here from the documented line format, not taken from the sink's own writer, so a change to what
/// the sink writes fails the tests instead of passing unseen.
/// </remarks>
internal sealed record FlowLogEntry
{
    public required string BatchId { get; init; }

    public required int BatchLine { get; init; }

    public required int BatchLines { get; init; }

    public required string Node { get; init; }

    public required DateTimeOffset WindowStart { get; init; }

    public required DateTimeOffset WindowEnd { get; init; }

    public required FlowSource SourceKind { get; init; }

    public required string SrcIp { get; init; }

    public required string DstIp { get; init; }

    public string? OriginalDstIp { get; init; }

    public required int Protocol { get; init; }

    public required ulong TxBytes { get; init; }

    public required ulong RxBytes { get; init; }

    public required ulong TxPackets { get; init; }

    public required ulong RxPackets { get; init; }

    public required TrafficClass TrafficClass { get; init; }

    public string? SrcPod { get; init; }

    public string? SrcNamespace { get; init; }

    public string? SrcNode { get; init; }

    public string? SrcZone { get; init; }

    public string? SrcRegion { get; init; }

    public string? SrcWorkloadKind { get; init; }

    public string? SrcWorkloadName { get; init; }

    public string? DstPod { get; init; }

    public string? DstNamespace { get; init; }

    public string? DstNode { get; init; }

    public string? DstZone { get; init; }

    public string? DstRegion { get; init; }

    public string? DstWorkloadKind { get; init; }

    public string? DstWorkloadName { get; init; }

    public string? DstService { get; init; }

    public string? DstDnsName { get; init; }

    /// <summary>The flow's counters as the collector published them.</summary>
    public FlowRecord Flow => new()
    {
        SourceIp = IpAddr.Parse(SrcIp),
        DestinationIp = IpAddr.Parse(DstIp),
        OriginalDestinationIp = OriginalDstIp is null ? null : IpAddr.Parse(OriginalDstIp),
        Protocol = Protocol,
        TxBytes = TxBytes,
        RxBytes = RxBytes,
        TxPackets = TxPackets,
        RxPackets = RxPackets,
    };
}
