namespace Egressd.Contracts;

/// <summary>A collected batch with Kubernetes context: enricher → exporters. Keeps the collected batch's id.</summary>
public sealed record FlowBatchEnriched
{
    public required BatchId Id { get; init; }

    public required string Node { get; init; }

    public required DateTimeOffset WindowStart { get; init; }

    public required DateTimeOffset WindowEnd { get; init; }

    public required FlowSource Source { get; init; }

    public required IReadOnlyList<EnrichedFlow> Flows { get; init; }
}

/// <summary>A flow with what is known about both ends.</summary>
public sealed record EnrichedFlow
{
    /// <summary>The flow exactly as the collector published it.</summary>
    public required FlowRecord Flow { get; init; }

    public required FlowEndpoint Source { get; init; }

    public required FlowEndpoint Destination { get; init; }

    /// <summary>The service whose cluster IP was the original destination, as "namespace/name".</summary>
    public string? DestinationService { get; init; }

    /// <summary>A DNS name that resolved to the destination, for destinations outside the cluster.</summary>
    public string? DestinationDnsName { get; init; }

    public required TrafficClass TrafficClass { get; init; }
}

/// <summary>Kubernetes context of one end of a flow. Every field is null when unknown.</summary>
public sealed record FlowEndpoint
{
    public string? Pod { get; init; }

    public string? Namespace { get; init; }

    public string? Node { get; init; }

    public string? Zone { get; init; }

    public string? Region { get; init; }

    /// <summary>Kind of the top owner: Deployment, StatefulSet, DaemonSet, Job, CronJob, ...</summary>
    public string? WorkloadKind { get; init; }

    public string? WorkloadName { get; init; }
}
