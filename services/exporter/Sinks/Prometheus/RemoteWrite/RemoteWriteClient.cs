using System.Net.Http.Headers;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.Prometheus.RemoteWrite;

/// <summary>
/// Posts snappy-compressed remote-write requests. Retries (5xx, 408, 429, transport errors, with
/// exponential backoff) happen below it, in the HTTP client's resilience handler.
/// </summary>
internal sealed class RemoteWriteClient
{
    /// <summary>How much of an error body is read (only its start reaches the log).</summary>
    private const int MaxReasonBytes = 4096;

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

    /// <summary>Where pushes go, for log lines (<see cref="SinkDestination"/>).</summary>
    public string Destination => SinkDestination.Of(url);

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

        // Headers first: an error body is read only as far as a log line needs.
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var status = (int)response.StatusCode;
        if (status is >= 300 and < 400)
        {
            // Redirects are never followed (the handler is told not to): the custom headers, often
            // credentials, would go along to whatever host the receiver names.
            var location = SinkDestination.OfRedirect(response);
            throw new RemoteWriteRejectedException(status,
                $"a redirect to {location}, which is not followed; set Egressd:Exporter:RemoteWrite:Url to the address that takes the writes");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new RemoteWriteRejectedException(status, await ReadReasonAsync(response.Content, cancellationToken));
        }
    }

    /// <summary>The start of an error body: at most <see cref="MaxReasonBytes"/> are read, however long it is.</summary>
    private static async Task<string> ReadReasonAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[MaxReasonBytes];
        var length = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        var text = System.Text.Encoding.UTF8.GetString(buffer, 0, length).Trim();
        return text.Length > 300 ? text[..300] : text;
    }
}
