namespace Egressd.Shared.Kubernetes;

/// <summary>A list page's metadata: the snapshot's resourceVersion and the next page's token.</summary>
public sealed class ApiListMeta
{
    public string? ResourceVersion { get; init; }

    public string? Continue { get; init; }
}
