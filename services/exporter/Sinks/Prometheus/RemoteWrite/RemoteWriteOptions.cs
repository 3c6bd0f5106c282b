namespace Egressd.Exporter.Sinks.Prometheus.RemoteWrite;

/// <summary>
/// Settings under <c>Egressd:Exporter:RemoteWrite</c>: push the Prometheus sink's counters to a
/// remote-write endpoint (egressd's <c>prom_remote_write</c> sink).
/// </summary>
public sealed class RemoteWriteOptions
{
    public const string Section = "Egressd:Exporter:RemoteWrite";

    public bool Enabled { get; set; }

    /// <summary>The receiver, e.g. <c>http://prometheus:9090/api/v1/write</c>; <c>${VAR}</c> is replaced from the environment.</summary>
    public string? Url { get; set; }

    /// <summary>HTTP headers on every push (tenant ids, tokens); <c>${VAR}</c> in values is replaced from the environment. Never logged.</summary>
    public Dictionary<string, string> Headers { get; set; } = [];

    /// <summary>Labels added to every pushed series, on top of the Prometheus sink's static labels.</summary>
    public Dictionary<string, string> StaticLabels { get; set; } = [];

    /// <summary>Also push the received bytes and packets counters (egressd's <c>sendReceivedBytesMetric</c>).</summary>
    public bool SendReceivedBytes { get; set; }

    /// <summary>How often every live series is pushed.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long one request may take before it counts as failed (and is retried).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of a request that failed with a 5xx, 408, 429 or a transport error.</summary>
    public int RetryLimit { get; set; } = 5;

    /// <summary>The first retry's delay; each next one doubles, with jitter.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Samples per request; a push of more series is cut into several requests.</summary>
    public int MaxSamplesPerRequest { get; set; } = 2000;
}
