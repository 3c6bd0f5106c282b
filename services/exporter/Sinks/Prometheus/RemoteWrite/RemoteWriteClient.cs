using System.Net.Http.Headers;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.Prometheus.RemoteWrite;

/// <summary>
/// Posts snappy-compressed remote-write requests. Retries (5xx, 408, 429, transport errors, with
/// exponential backoff) happen below it, in the HTTP client's resilience handler.
/// </summary>
internal sealed class RemoteWriteClient
{
    private readonly HttpClient http;
    private readonly Uri url;
    private readonly KeyValuePair<string, string>[] headers;

    public RemoteWriteClient(HttpClient http, IOptions<RemoteWriteOptions> options)
    {
        this.http = http;
        var remote = options.Value;
        // Validated at start: every variable is set and the URL is absolute.
        url = new Uri(EnvironmentExpansion.Expand(remote.Url!).Text);
        headers = [.. remote.Headers.Select(h => KeyValuePair.Create(h.Key, EnvironmentExpansion.Expand(h.Value).Text))];
    }

    /// <summary>Where pushes go, for log lines: scheme, host and port only (the rest may carry a secret).</summary>
    public string Destination => url.GetLeftPart(UriPartial.Authority).Replace(url.UserInfo + "@", "", StringComparison.Ordinal);

    public async Task PushAsync(byte[] compressed, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Content = new ByteArrayContent(compressed);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        request.Content.Headers.ContentEncoding.Add("snappy");
        request.Headers.TryAddWithoutValidation("X-Prometheus-Remote-Write-Version", "0.1.0");
        request.Headers.UserAgent.ParseAdd("egressd-exporter");
        foreach (var (name, value) in headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new RemoteWriteRejectedException((int)response.StatusCode, body.Length > 300 ? body[..300] : body.Trim());
        }
    }
}
