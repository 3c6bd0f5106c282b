namespace Egressd.Shared.Kubernetes;

/// <summary>An object of which egressd reads only the metadata (ReplicaSets and Jobs: their owners).</summary>
public sealed class MetadataObject : IApiObject
{
    public ApiObjectMeta? Metadata { get; init; }
}
