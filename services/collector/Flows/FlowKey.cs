using Egressd.Contracts;

namespace Egressd.Collector.Flows;

/// <summary>
/// What deltas are summed by, from the local pod's point of view. The original destination (the
/// address the pod asked for, before DNAT) is part of the key so traffic to a service and straight
/// to its backend stay apart; <see cref="IpAddr.None"/> when DNAT did not change it.
/// </summary>
public readonly record struct FlowKey(IpAddr Source, IpAddr Destination, IpAddr OriginalDestination, byte Protocol);
