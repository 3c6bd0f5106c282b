namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// One HTTP sink: egressd's <c>http</c> keys (<c>url</c>, <c>method</c>, <c>compression</c>,
/// <c>encoding</c>, <c>headers</c>, <c>timeout</c>) plus how flows are grouped into requests and
/// how long a failing receiver is retried. Durations take egressd's Go form (<c>30s</c>,
/// <c>1m0s</c>, <c>500ms</c>) or <c>hh:mm:ss</c>.
/// </summary>
public sealed class HttpSinkOptions
{
    /// <summary>The receiver; <c>${VAR}</c> is replaced from the environment. Never logged.</summary>
    public string? Url { get; set; }

    /// <summary><c>POST</c> (default), <c>PUT</c> or <c>PATCH</c>.</summary>
    public string? Method { get; set; }

    /// <summary><c>gzip</c>, or empty / <c>none</c> for an uncompressed body.</summary>
    public string? Compression { get; set; }

    /// <summary><c>protobuf</c> (egressd's, the default), <c>ndjson</c> or <c>json</c>.</summary>
    public string? Encoding { get; set; }

    /// <summary>Headers on every request; <c>${VAR}</c> in values is replaced from the environment. Values are never logged.</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How long one attempt may take (egressd's <c>timeout</c>, default <c>30s</c>).</summary>
    public string? Timeout { get; set; }

    /// <summary>Flows accumulate this long per request (egressd's 60 s); <c>0</c> sends each bus batch as it comes.</summary>
    public string? Interval { get; set; }

    /// <summary>
    /// With an interval, how long a closed interval waits with no batch arriving for it before its
    /// request goes (default <c>5s</c>): it covers collectors and the enricher publishing a window
    /// late, and makes the request's batches, and so its idempotency key, the same on redelivery.
    /// </summary>
    public string? FlushDelay { get; set; }

    /// <summary>A request carries at most this many flows; more make more requests.</summary>
    public int MaxFlowsPerRequest { get; set; } = 50_000;

    /// <summary>Bus batches held while an interval accumulates; when reached, the requests go early.</summary>
    public int MaxPendingBatches { get; set; } = 1000;

    public HttpSinkRetryOptions Retry { get; set; } = new();
}
