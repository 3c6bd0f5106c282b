namespace Egressd.Shared.Kubernetes;

/// <summary>The part of an object's metadata egressd reads: its identity, and what the enricher keeps of pods, nodes and owners.</summary>
public sealed class ApiObjectMeta
{
    public string? Name { get; init; }

    public string? Namespace { get; init; }

    public string? ResourceVersion { get; init; }

    public string? Uid { get; init; }

    /// <summary>Read for a mirror pod's <c>kubernetes.io/config.mirror</c> (the static pod's uid, which its cgroup is named after).</summary>
    public Dictionary<string, string>? Annotations { get; init; }

    public DateTimeOffset? CreationTimestamp { get; init; }

    public Dictionary<string, string>? Labels { get; init; }

    public List<ApiOwnerReference>? OwnerReferences { get; init; }
}
