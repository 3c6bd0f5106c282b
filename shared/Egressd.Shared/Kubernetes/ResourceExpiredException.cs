namespace Egressd.Shared.Kubernetes;

/// <summary>The API server answered 410 Gone: a continue token or resourceVersion is too old, and the resource must be listed again.</summary>
public sealed class ResourceExpiredException(string message, Exception? inner = null) : Exception(message, inner);
