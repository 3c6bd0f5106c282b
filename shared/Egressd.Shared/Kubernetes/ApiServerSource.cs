using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Egressd.Shared.Kubernetes;

/// <summary>
/// A resource listed and watched through <see cref="ApiServer"/>, each object read straight into
/// <typeparamref name="T"/>, which holds only the fields its service uses.
/// </summary>
/// <param name="path">The collection, relative to the server: <c>api/v1/pods</c>.</param>
/// <param name="fieldSelector">Sent with every list and watch (<c>spec.nodeName=NODE</c>), or null.</param>
public sealed class ApiServerSource<T>(ApiServer api, string path, string? fieldSelector, JsonTypeInfo<ApiList<T>> listType, JsonTypeInfo<T> objectType)
    where T : class, IApiObject
{
    /// <summary>"namespace/name", or the name of a cluster-scoped object.</summary>
    public string Key(T item) =>
        item.Metadata?.Namespace is { Length: > 0 } ns ? $"{ns}/{item.Metadata.Name}" : item.Metadata?.Name ?? "";

    /// <summary>One page of the list. Throws <see cref="ResourceExpiredException"/> for 410 Gone (a continue token too old).</summary>
    public async Task<ResourcePage<T>> ListAsync(string? continueToken, int limit, CancellationToken cancellationToken)
    {
        var query = Query(("limit", limit.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("continue", continueToken));
        var list = await api.GetAsync(query, listType, cancellationToken);
        return new ResourcePage<T>(list.Items ?? [], list.Metadata?.ResourceVersion, list.Metadata?.Continue);
    }

    /// <summary>A watch from a resourceVersion, with bookmarks, until the API server ends it (5 to 10 minutes).</summary>
    public async IAsyncEnumerable<ResourceEvent<T>> WatchAsync(string resourceVersion, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The API server ends each watch after this long; a spread keeps a fleet's watches from restarting together.
        var timeout = 300 + Random.Shared.Next(300);
        var query = Query(
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", resourceVersion),
            ("timeoutSeconds", timeout.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using var response = await api.OpenAsync(query, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(body, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > 0)
            {
                yield return Read(line);
            }
        }
    }

    private ResourceEvent<T> Read(string line)
    {
        try
        {
            var watchLine = JsonSerializer.Deserialize(line, ApiJsonContext.Default.ApiWatchLine);
            switch (watchLine?.Type)
            {
                case "ERROR":
                    var status = watchLine.Body.Deserialize(ApiJsonContext.Default.ApiStatus);
                    return status?.Code == 410
                        ? new ResourceEvent<T>(ResourceEventType.Expired, null, null)
                        : new ResourceEvent<T>(ResourceEventType.Error, null, null, $"{status?.Code} {status?.Reason}: {status?.Message}");
                case "ADDED" or "MODIFIED" or "DELETED" or "BOOKMARK":
                    var item = watchLine.Body.Deserialize(objectType);
                    var type = watchLine.Type switch
                    {
                        "ADDED" => ResourceEventType.Added,
                        "MODIFIED" => ResourceEventType.Modified,
                        "DELETED" => ResourceEventType.Deleted,
                        _ => ResourceEventType.Bookmark,
                    };
                    return item?.Metadata is null && type != ResourceEventType.Bookmark
                        ? new ResourceEvent<T>(ResourceEventType.Error, null, null, $"a {watchLine.Type} event without an object's metadata")
                        : new ResourceEvent<T>(type, item, item?.Metadata?.ResourceVersion);
                default:
                    return new ResourceEvent<T>(ResourceEventType.Error, null, null, $"an event of unknown type '{watchLine?.Type}'");
            }
        }
        catch (JsonException e)
        {
            return new ResourceEvent<T>(ResourceEventType.Error, null, null, $"a line that is not a watch event ({e.Message})");
        }
    }

    private string Query(params (string Name, string? Value)[] parameters)
    {
        var query = new StringBuilder(path).Append('?');
        foreach (var (name, value) in parameters.Append(("fieldSelector", fieldSelector)))
        {
            if (!string.IsNullOrEmpty(value))
            {
                query.Append(name).Append('=').Append(Uri.EscapeDataString(value)).Append('&');
            }
        }

        return query.ToString(0, query.Length - 1);
    }
}
