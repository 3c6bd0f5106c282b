using System.Diagnostics;
using Egressd.Shared.Bus;
using Polly.Timeout;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// Sends one request body through the sink's Refit client. Retries, the per-attempt timeout and
/// the circuit breaker live below, in the HTTP client's resilience handler; this decides what an
/// outcome means for the batches: a 2xx delivers them, anything else that comes back (a 4xx that
/// retrying will not change, a redirect) or a request still failing after <c>retry:maxTime</c>
/// rejects them for good.
/// </summary>
internal sealed class HttpSinkClient(HttpSinkSettings settings, IWebhookApi api, HttpSinkMetrics metrics)
{
    /// <summary>How much of an error body is read; only its start reaches the parked message.</summary>
    private const int MaxReasonBytes = 4096;

    private const int ReasonChars = 300;

    private readonly Dictionary<string, string> headers = Headers(settings);

    /// <summary>Returns once the receiver answered 2xx; throws <see cref="HttpSinkRejectedException"/> when it never will.</summary>
    public async Task SendAsync(ArraySegment<byte> body, string idempotencyKey, System.Net.Http.Headers.MediaTypeHeaderValue contentType, bool gzip, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body.Array!, body.Offset, body.Count);
        content.Headers.ContentType = contentType;
        if (gzip)
        {
            content.Headers.ContentEncoding.Add("gzip");
        }

        var requestHeaders = new Dictionary<string, string>(headers, StringComparer.OrdinalIgnoreCase)
        {
            ["Idempotency-Key"] = idempotencyKey,
        };
        var started = Stopwatch.GetTimestamp();
        var lastFailure = AttemptHandler.Track();
        HttpResponseMessage response;
        try
        {
            response = settings.Method.Method switch
            {
                "PUT" => await api.PutAsync(content, requestHeaders, cancellationToken),
                "PATCH" => await api.PatchAsync(content, requestHeaders, cancellationToken),
                _ => await api.PostAsync(content, requestHeaders, cancellationToken),
            };
        }
        catch (TimeoutRejectedException) when (!cancellationToken.IsCancellationRequested)
        {
            // The pipeline's outer timeout: retry:maxTime ran out.
            Observe(started, "undeliverable");
            throw new HttpSinkRejectedException(FaultReasons.Undeliverable,
                $"sink {settings.Name}: still failing after retry:maxTime ({settings.RetryMaxTime}); last attempt: {lastFailure.Value ?? "none finished"}");
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                Observe(started, "delivered");
                return;
            }

            Observe(started, "rejected");
            if (status is >= 300 and < 400)
            {
                // Redirects are never followed (the handler is told not to): the headers, often
                // credentials, would go along to whatever host the receiver names.
                var location = SinkDestination.OfRedirect(response);
                throw new HttpSinkRejectedException(FaultReasons.Rejected,
                    $"sink {settings.Name}: the receiver answered {status}, a redirect to {location}, which is not followed; set the sink's url to the address that takes the requests");
            }

            throw new HttpSinkRejectedException(FaultReasons.Rejected,
                $"sink {settings.Name}: the receiver answered {status}: {await ReadReasonAsync(response.Content, cancellationToken)}");
        }
    }

    private void Observe(long started, string outcome) =>
        metrics.PushSeconds.WithLabels(settings.Name, outcome).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);

    /// <summary>egressd's headers: the configured ones, and its <c>User-Agent</c> form unless one is configured.</summary>
    private static Dictionary<string, string> Headers(HttpSinkSettings settings)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in settings.Headers)
        {
            // Content headers describe the body the sink builds.
            if (!name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) && !name.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                result[name] = value;
            }
        }

        result.TryAdd("User-Agent", UserAgent);
        return result;
    }

    /// <summary>egressd's <c>castai-egressd/&lt;version&gt;</c>, with our version.</summary>
    public static readonly string UserAgent = "castai-egressd/" + Version();

    private static string Version()
    {
        var assembly = typeof(HttpSinkClient).Assembly;
        var informational = assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion;
        // Drop the "+commit" build metadata: a User-Agent product version is one token.
        return (informational ?? assembly.GetName().Version?.ToString() ?? "0.0.0").Split('+')[0];
    }

    /// <summary>The start of an error body: at most <see cref="MaxReasonBytes"/> are read, however long it is.</summary>
    private static async Task<string> ReadReasonAsync(HttpContent content, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[MaxReasonBytes];
            var length = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            var text = System.Text.Encoding.UTF8.GetString(buffer, 0, length).Trim().ReplaceLineEndings(" ");
            return text.Length == 0 ? "(empty body)" : text.Length > ReasonChars ? text[..ReasonChars] : text;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return $"(the body could not be read: {ex.GetType().Name})";
        }
    }
}
