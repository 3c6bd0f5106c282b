using Egressd.Collector.Flows;

namespace Egressd.Collector.HostNetwork;

/// <summary>Tells who on the node carries a flow whose local end is one of the node's own addresses.</summary>
internal interface IHostNetworkAttribution
{
    /// <summary>Before each read: takes a fresh look at the node's sockets.</summary>
    void BeginRead();

    /// <summary>
    /// The owner of the socket at the node's end of <paramref name="tuple"/>: the tuple as the node's
    /// socket sees it (its source is the node's address and port, its destination the peer), which
    /// is conntrack's original tuple when the node opened the connection and the reply tuple when it
    /// answered (after DNAT, the reply tuple is what the answering socket holds).
    /// </summary>
    HostOwner Resolve(in ConntrackTuple tuple);

    /// <summary>
    /// The destroy event of the conntrack entry <paramref name="conntrackId"/> has been applied;
    /// <paramref name="tuple"/> is its end as the node's socket holds it.
    /// </summary>
    void Ended(in ConntrackTuple tuple, uint conntrackId)
    {
    }
}
