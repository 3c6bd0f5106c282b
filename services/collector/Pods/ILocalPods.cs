using Egressd.Contracts;

namespace Egressd.Collector.Pods;

/// <summary>
/// The pods running on this node: a flow is reported when its source is one of them (each flow
/// from the local pod's point of view; hostNetwork pods and excluded namespaces are not pods here).
/// </summary>
internal interface ILocalPods
{
    /// <summary>For the startup log: where the set comes from.</summary>
    string Description { get; }

    /// <summary>False until the set is complete (a Kubernetes watch has synced once).</summary>
    bool IsReady => true;

    bool Contains(IpAddr address);

    /// <summary>An address of the node itself (what its hostNetwork pods have as theirs).</summary>
    bool IsNodeAddress(IpAddr address) => false;

    /// <summary>
    /// The hostNetwork pod with this uid (a static pod: its config hash) as <c>namespace/name</c>:
    /// true when the pod is known, with <paramref name="pod"/> null when its namespace is excluded.
    /// </summary>
    bool TryGetHostNetworkPod(string uid, out string? pod)
    {
        pod = null;
        return false;
    }

    /// <summary>Completes once <see cref="IsReady"/>: reading before would throw away the deltas of pods not known yet.</summary>
    Task WaitUntilReadyAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Keeps the set current until cancelled; a set that never changes returns at once.</summary>
    Task RunAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
