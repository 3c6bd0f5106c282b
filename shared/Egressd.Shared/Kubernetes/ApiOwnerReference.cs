namespace Egressd.Shared.Kubernetes;

/// <summary>An object's owner (a pod's ReplicaSet, a ReplicaSet's Deployment, a Job's CronJob).</summary>
public sealed class ApiOwnerReference
{
    public string? Kind { get; init; }

    public string? Name { get; init; }

    public bool? Controller { get; init; }
}
