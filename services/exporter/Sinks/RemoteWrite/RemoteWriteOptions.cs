using System.Text.RegularExpressions;
using Egressd.Exporter.Sinks.Prometheus;

namespace Egressd.Exporter.Sinks.RemoteWrite;

/// <summary>
/// Settings under <c>Egressd:Exporter:RemoteWrite</c>: push the Prometheus sink's counters to a
/// remote-write endpoint (egressd's <c>prom_remote_write</c> sink).
/// </summary>
public sealed class RemoteWriteOptions
{
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

/// <summary><c>${VAR}</c> from the environment, as egressd expands its sink settings.</summary>
internal static partial class EnvironmentExpansion
{
    /// <summary>The text with every <c>${VAR}</c> replaced; the first variable that is not set, if any.</summary>
    public static (string Text, string? Missing) Expand(string text)
    {
        string? missing = null;
        var expanded = Variable().Replace(text, m =>
        {
            var value = Environment.GetEnvironmentVariable(m.Groups[1].Value);
            if (value is null)
            {
                missing ??= m.Groups[1].Value;
                return "";
            }

            return value;
        });
        return (expanded, missing);
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Variable();
}

internal static class RemoteWriteOptionsValidator
{
    private const string Prefix = "Egressd:Exporter:RemoteWrite";

    public static void Validate(RemoteWriteOptions options, PrometheusOptions prometheus, List<string> errors)
    {
        if (!options.Enabled)
        {
            return;
        }

        if (!prometheus.Enabled)
        {
            errors.Add($"{Prefix}:Enabled needs Egressd:Exporter:Prometheus:Enabled: remote write pushes the Prometheus sink's counters");
        }

        // Messages name the setting and the variable, never a value: either may be a secret.
        var (url, missing) = EnvironmentExpansion.Expand(options.Url ?? "");
        if (missing is not null)
        {
            errors.Add($"{Prefix}:Url refers to environment variable '{missing}', which is not set");
        }
        else if (string.IsNullOrWhiteSpace(url))
        {
            errors.Add($"{Prefix}:Url is required when {Prefix}:Enabled is true");
        }
        else if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            errors.Add($"{Prefix}:Url must be an absolute http or https URL");
        }

        foreach (var (name, value) in options.Headers)
        {
            var key = $"{Prefix}:Headers:{name}";
            if (EnvironmentExpansion.Expand(value ?? "").Missing is { } variable)
            {
                errors.Add($"{key} refers to environment variable '{variable}', which is not set");
            }

            if (string.IsNullOrWhiteSpace(name) || name.Any(c => c <= ' ' || c >= 127 || c == ':'))
            {
                errors.Add($"{key}: '{name}' is not a valid header name");
            }
        }

        foreach (var (name, value) in options.StaticLabels)
        {
            var key = $"{Prefix}:StaticLabels:{name}";
            PrometheusOptionsValidator.CheckStaticLabel(key, name, value, errors);
            if (FlowLabels.All.ContainsKey(name) || prometheus.StaticLabels.ContainsKey(name))
            {
                errors.Add($"{key}: '{name}' is already a label of the flow series");
            }
        }

        if (options.Interval <= TimeSpan.Zero)
        {
            errors.Add($"{Prefix}:Interval must be positive (got {options.Interval})");
        }

        if (options.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{Prefix}:Timeout must be positive (got {options.Timeout})");
        }

        if (options.RetryLimit < 0)
        {
            errors.Add($"{Prefix}:RetryLimit must not be negative (got {options.RetryLimit})");
        }

        if (options.RetryDelay <= TimeSpan.Zero)
        {
            errors.Add($"{Prefix}:RetryDelay must be positive (got {options.RetryDelay})");
        }

        if (options.MaxSamplesPerRequest < 4)
        {
            errors.Add($"{Prefix}:MaxSamplesPerRequest must be at least 4 (got {options.MaxSamplesPerRequest})");
        }
    }
}
