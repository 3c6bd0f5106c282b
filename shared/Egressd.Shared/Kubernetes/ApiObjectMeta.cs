namespace Egressd.Shared.Kubernetes;

/// <summary>The part of an object's metadata a reflector needs.</summary>
public sealed class ApiObjectMeta
{
    public string? Name { get; init; }

    public string? Namespace { get; init; }

    public string? ResourceVersion { get; init; }
}
