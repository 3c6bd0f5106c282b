using Egressd.Contracts;

namespace Egressd.Collector.Pods;

/// <summary>No filter: every address counts as local (outside a cluster, with no inventory).</summary>
internal sealed class AnyAddressIsLocal : ILocalPods
{
    public string Description => "off: no pod inventory or cluster, so every address counts as a local pod";

    public bool Contains(IpAddr address) => true;
}
