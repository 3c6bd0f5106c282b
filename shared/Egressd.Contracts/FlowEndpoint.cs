namespace Egressd.Contracts;

/// <summary>
/// Kubernetes context of one end of a flow. Every field is null when unknown. A batch lists each
/// end once (<see cref="FlowBatchEnriched.Endpoints"/>) and its flows refer to it by index.
/// </summary>
public sealed record FlowEndpoint
{
    /// <summary>Nothing known: an address outside the cluster, or a pod not (yet) seen.</summary>
    public static readonly FlowEndpoint Unknown = new();

    public string? Pod { get; init; }

    public string? Namespace { get; init; }

    public string? Node { get; init; }

    public string? Zone { get; init; }

    public string? Region { get; init; }

    /// <summary>Kind of the top owner: Deployment, StatefulSet, DaemonSet, Job, CronJob, ...</summary>
    public string? WorkloadKind { get; init; }

    public string? WorkloadName { get; init; }
}
