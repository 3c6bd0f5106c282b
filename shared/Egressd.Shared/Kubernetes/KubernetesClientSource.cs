using System.Net;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Egressd.Shared.Kubernetes;

/// <summary>A resource listed and watched through the official client's typed calls (the enricher's full models).</summary>
/// <param name="listPage">One page of the list: (continue token, limit) → list.</param>
/// <param name="watchFrom">A watch from a resourceVersion (with bookmarks), passing ERROR events to the given callback.</param>
public sealed class KubernetesClientSource<T, TList>(
    Func<string?, int, CancellationToken, Task<TList>> listPage,
    Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watchFrom) : IResourceSource<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
    where TList : class, IKubernetesObject<V1ListMeta>, IItems<T>
{
    public string Key(T item) =>
        item.Metadata.NamespaceProperty is { Length: > 0 } ns ? $"{ns}/{item.Metadata.Name}" : item.Metadata.Name;

    public async Task<ResourcePage<T>> ListAsync(string? continueToken, int limit, CancellationToken cancellationToken)
    {
        try
        {
            var page = await listPage(continueToken, limit, cancellationToken);
            return new ResourcePage<T>([.. page.Items ?? []], page.Metadata?.ResourceVersion, page.Metadata?.ContinueProperty);
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Gone)
        {
            throw new ResourceExpiredException(ex.Message, ex);
        }
    }

    public async IAsyncEnumerable<ResourceEvent<T>> WatchAsync(string resourceVersion, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // ERROR events reach the callback only, never the enumeration: they are reported once the stream ends.
        var expired = false;
        Exception? streamError = null;
        var events = watchFrom(
            resourceVersion,
            ex =>
            {
                if (ex is KubernetesException { Status.Code: 410 })
                {
                    expired = true;
                }
                else
                {
                    streamError = ex;
                }
            },
            cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (events)
        {
            while (await Next(events))
            {
                var (type, item) = events.Current;
                yield return new ResourceEvent<T>(
                    type switch
                    {
                        WatchEventType.Added => ResourceEventType.Added,
                        WatchEventType.Modified => ResourceEventType.Modified,
                        WatchEventType.Deleted => ResourceEventType.Deleted,
                        WatchEventType.Bookmark => ResourceEventType.Bookmark,
                        _ => ResourceEventType.Error,
                    },
                    item,
                    item?.Metadata?.ResourceVersion);
            }
        }

        if (streamError is not null)
        {
            yield return new ResourceEvent<T>(ResourceEventType.Error, null, null, streamError.Message);
        }

        if (expired)
        {
            yield return new ResourceEvent<T>(ResourceEventType.Expired, null, null);
        }
    }

    private static async Task<bool> Next(IAsyncEnumerator<(WatchEventType, T)> events)
    {
        try
        {
            return await events.MoveNextAsync();
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Gone)
        {
            throw new ResourceExpiredException(ex.Message, ex);
        }
    }
}
