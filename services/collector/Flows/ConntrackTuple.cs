using Egressd.Contracts;

namespace Egressd.Collector.Flows;

/// <summary>One direction of a connection as conntrack sees it.</summary>
internal record struct ConntrackTuple
{
    public IpAddr Source;
    public IpAddr Destination;
    public byte Protocol;
    public ushort SourcePort;
    public ushort DestinationPort;
    public ushort Zone;
}
