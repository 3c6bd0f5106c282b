namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// Sends every request to the sink's URL as configured. Refit builds the address from the base
/// address's path and drops its query string; egressd posts to the URL exactly as written.
/// </summary>
internal sealed class SinkAddressHandler(Uri url) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.RequestUri = url;
        return base.SendAsync(request, cancellationToken);
    }
}
