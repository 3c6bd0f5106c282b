namespace Egressd.Shared.Kubernetes;

/// <summary>One watch event: the object (none for <see cref="ResourceEventType.Expired"/> and <see cref="ResourceEventType.Error"/>) and the resourceVersion it moves to.</summary>
public readonly record struct ResourceEvent<T>(ResourceEventType Type, T? Item, string? ResourceVersion, string? Error = null)
    where T : class;
