namespace Egressd.Shared.Kubernetes;

/// <summary>One resource's list and watch calls, whichever client makes them.</summary>
public interface IResourceSource<T>
    where T : class
{
    /// <summary>"namespace/name", or the name of a cluster-scoped object.</summary>
    string Key(T item);

    /// <summary>One page of the list. Throws <see cref="ResourceExpiredException"/> for 410 Gone (a continue token too old).</summary>
    Task<ResourcePage<T>> ListAsync(string? continueToken, int limit, CancellationToken cancellationToken);

    /// <summary>A watch from a resourceVersion, with bookmarks, until the API server ends it.</summary>
    IAsyncEnumerable<ResourceEvent<T>> WatchAsync(string resourceVersion, CancellationToken cancellationToken);
}
