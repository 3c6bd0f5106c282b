namespace Egressd.Shared.Kubernetes;

/// <summary>A list response (PodList, NodeList, ...) read into <typeparamref name="T"/>.</summary>
public sealed class ApiList<T>
    where T : class, IApiObject
{
    public ApiListMeta? Metadata { get; init; }

    public List<T>? Items { get; init; }
}
