using Egressd.Contracts;

namespace Egressd.Tests.Infrastructure;

/// <summary>Collected flows for enricher tests: TCP, 100 bytes and 2 packets out, 200 bytes and 3 packets back.</summary>
internal static class SampleFlows
{
    public static FlowRecord Flow(string src, string dst, string? original) => new()
    {
        SourceIp = IpAddr.Parse(src),
        DestinationIp = IpAddr.Parse(dst),
        OriginalDestinationIp = original is null ? null : IpAddr.Parse(original),
        Protocol = 6,
        TxBytes = 100,
        RxBytes = 200,
        TxPackets = 2,
        RxPackets = 3,
    };
}
