namespace Egressd.Shared.Kubernetes;

/// <summary>One page of a list: its objects, the snapshot's resourceVersion, and the token for the next page.</summary>
public sealed record ResourcePage<T>(IReadOnlyList<T> Items, string? ResourceVersion, string? Continue);
