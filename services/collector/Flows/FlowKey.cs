using Egressd.Contracts;

namespace Egressd.Collector.Flows;

/// <summary>
/// What deltas are summed by, from the local pod's point of view. The original destination (the
/// address the pod asked for, before DNAT) is part of the key so traffic to a service and straight
/// to its backend stay apart; <see cref="IpAddr.None"/> when DNAT did not change it.
/// <see cref="Owner"/> tells apart the owners of one node address (hostNetwork pods, systemd
/// units): an index into <see cref="PendingFlows"/>' owners, 0 for an address that is its own owner.
/// </summary>
public readonly record struct FlowKey(IpAddr Source, IpAddr Destination, IpAddr OriginalDestination, byte Protocol, ushort Owner = 0);
