namespace Egressd.Exporter.Sinks;

/// <summary>
/// A sink's address as log lines and errors show it: scheme, host and port only. The user info,
/// path and query may hold a secret (a <c>${VAR}</c> expanded into them, a token in the query), so
/// they are never written out. Every sink that names where it sends says it through here.
/// </summary>
internal static class SinkDestination
{
    public static string Of(Uri url) => $"{url.Scheme}://{url.Authority}";

    /// <summary>Where a redirect answer points, for the error that refuses to follow it.</summary>
    public static string OfRedirect(HttpResponseMessage response) =>
        response.Headers.Location is { IsAbsoluteUri: true } target ? Of(target) : "a relative address";
}
