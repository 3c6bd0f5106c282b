using Egressd.Collector.Conntrack;

namespace Egressd.Collector.Pods;

/// <summary>
/// The pods running on this node: a flow is reported when its source is one of them (DESIGN §1:
/// each flow from the local pod's point of view; hostNetwork pods and excluded namespaces are
/// not pods here).
/// </summary>
internal interface ILocalPods
{
    /// <summary>For the startup log: where the set comes from.</summary>
    string Description { get; }

    /// <summary>False until the set is complete (a Kubernetes watch has synced once).</summary>
    bool IsReady => true;

    bool Contains(IpAddr address);

    /// <summary>Completes once <see cref="IsReady"/>: reading before would throw away the deltas of pods not known yet.</summary>
    Task WaitUntilReadyAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>No filter: every address counts as local (outside a cluster, with no inventory).</summary>
internal sealed class AnyAddressIsLocal : ILocalPods
{
    public string Description => "off: no pod inventory or cluster, so every address counts as a local pod";

    public bool Contains(IpAddr address) => true;
}
