namespace Egressd.Exporter.Sinks.Http;

/// <summary>How a request that fails with a transport error, a timeout, 408, 429 or a 5xx is retried.</summary>
public sealed class HttpSinkRetryOptions
{
    /// <summary>How long a request is retried before its batches are parked in the sink's <c>_error</c> queue (default <c>10m</c>).</summary>
    public string? MaxTime { get; set; }

    /// <summary>The first retry's delay (default <c>1s</c>); each next one doubles, with jitter. A <c>Retry-After</c> wins.</summary>
    public string? InitialDelay { get; set; }

    /// <summary>The longest delay between two attempts (default <c>30s</c>).</summary>
    public string? MaxDelay { get; set; }
}
