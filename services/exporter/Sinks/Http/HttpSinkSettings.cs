using System.Text.RegularExpressions;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// One HTTP sink's settings, checked and resolved: variables expanded, durations parsed. The
/// validator builds these to report what is wrong; the sink builds them again to run.
/// </summary>
internal sealed partial class HttpSinkSettings
{
    /// <summary>RabbitMQ closes a channel holding a message unacknowledged for 30 minutes (its default consumer timeout).</summary>
    private static readonly TimeSpan MaxHold = TimeSpan.FromMinutes(25);

    public required string Name { get; init; }

    public required Uri Url { get; init; }

    public required HttpMethod Method { get; init; }

    public required bool Gzip { get; init; }

    public required HttpSinkEncoding Encoding { get; init; }

    /// <summary>Expanded header values: secrets. Never logged.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; }

    public required TimeSpan Timeout { get; init; }

    public required TimeSpan Interval { get; init; }

    /// <summary>With an interval: how long a closed bucket must go without a batch arriving before it is sent.</summary>
    public required TimeSpan FlushDelay { get; init; }

    public required int MaxFlowsPerRequest { get; init; }

    public required int MaxPendingBatches { get; init; }

    public required TimeSpan RetryMaxTime { get; init; }

    public required TimeSpan RetryInitialDelay { get; init; }

    public required TimeSpan RetryMaxDelay { get; init; }

    /// <summary>The sink's queue.</summary>
    public string Queue => QueueName(Name);

    /// <summary>Where requests go, for log lines (<see cref="SinkDestination"/>).</summary>
    public string Destination => SinkDestination.Of(Url);

    public static string QueueName(string sink) => $"egressd-exporter-http-{sink}";

    /// <summary>The sink's settings, or null with one line per problem added to <paramref name="errors"/>, each naming the setting.</summary>
    public static HttpSinkSettings? Resolve(string name, HttpSinkOptions http, string? exportInterval, List<string> errors)
    {
        var key = $"{HttpSinksOptions.Section}:Sinks:{name}:http";
        var before = errors.Count;
        if (!SinkName().IsMatch(name))
        {
            errors.Add($"{HttpSinksOptions.Section}:Sinks:{name}: a sink name is 1 to 64 letters, digits, '-', '_' or '.' (it names the sink's queue)");
        }

        // Messages name the setting and the variable, never a value: either may be a secret.
        Uri? url = null;
        var (expanded, missing) = EnvironmentExpansion.Expand(http.Url ?? "");
        if (missing is not null)
        {
            errors.Add($"{key}:url refers to environment variable '{missing}', which is not set");
        }
        else if (string.IsNullOrWhiteSpace(expanded))
        {
            errors.Add($"{key}:url is required");
        }
        else if (!Uri.TryCreate(expanded, UriKind.Absolute, out url) || url.Scheme is not ("http" or "https"))
        {
            errors.Add($"{key}:url must be an absolute http or https URL");
        }

        var method = (http.Method ?? "").Trim().ToUpperInvariant() switch
        {
            "" or "POST" => HttpMethod.Post,
            "PUT" => HttpMethod.Put,
            "PATCH" => HttpMethod.Patch,
            _ => null,
        };
        if (method is null)
        {
            errors.Add($"{key}:method must be POST, PUT or PATCH (got '{http.Method}')");
        }

        bool? gzip = (http.Compression ?? "").Trim().ToLowerInvariant() switch
        {
            "" or "none" => false,
            "gzip" => true,
            _ => null,
        };
        if (gzip is null)
        {
            errors.Add($"{key}:compression must be 'gzip' or 'none' (got '{http.Compression}')");
        }

        HttpSinkEncoding? encoding = (http.Encoding ?? "").Trim().ToLowerInvariant() switch
        {
            "" or "protobuf" => HttpSinkEncoding.Protobuf,
            "ndjson" => HttpSinkEncoding.Ndjson,
            "json" => HttpSinkEncoding.Json,
            _ => null,
        };
        if (encoding is null)
        {
            errors.Add($"{key}:encoding must be 'protobuf', 'ndjson' or 'json' (got '{http.Encoding}')");
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (header, value) in http.Headers)
        {
            if (string.IsNullOrWhiteSpace(header) || header.Any(c => c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c)))
            {
                errors.Add($"{key}:headers:{header}: '{header}' is not a valid header name");
                continue;
            }

            var (text, variable) = EnvironmentExpansion.Expand(value ?? "");
            if (variable is not null)
            {
                errors.Add($"{key}:headers:{header} refers to environment variable '{variable}', which is not set");
            }
            else if (text.Any(c => c is '\r' or '\n' or '\0'))
            {
                errors.Add($"{key}:headers:{header}: the value holds a line break or NUL, which no header may");
            }

            headers.Add(KeyValuePair.Create(header, text));
        }

        var timeout = Duration(http.Timeout, "30s", $"{key}:timeout", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10), errors);
        var interval = Duration(http.Interval ?? exportInterval, "60s", http.Interval is null && exportInterval is not null ? $"{HttpSinksOptions.Section}:ExportInterval" : $"{key}:interval", TimeSpan.Zero, TimeSpan.FromHours(1), errors);
        if (interval > TimeSpan.Zero && interval < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{key}:interval must be 0 (each bus batch as it comes) or at least 1s (got {interval})");
        }

        var flushDelay = Duration(http.FlushDelay, "5s", $"{key}:flushDelay", TimeSpan.Zero, TimeSpan.FromMinutes(5), errors);
        var maxTime = Duration(http.Retry.MaxTime, "10m", $"{key}:retry:maxTime", TimeSpan.FromSeconds(1), MaxHold, errors);
        var initialDelay = Duration(http.Retry.InitialDelay, "1s", $"{key}:retry:initialDelay", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), errors);
        var maxDelay = Duration(http.Retry.MaxDelay, "30s", $"{key}:retry:maxDelay", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), errors);
        if (maxDelay < initialDelay)
        {
            errors.Add($"{key}:retry:maxDelay must be at least retry:initialDelay ({maxDelay} < {initialDelay})");
        }

        if (interval + flushDelay + maxTime > MaxHold)
        {
            // A batch is held for its interval, the flush delay, and then for as long as its request is retried.
            errors.Add($"{key}:interval plus flushDelay plus retry:maxTime must stay within {MaxHold} (RabbitMQ drops a consumer that holds a message 30 minutes); got {interval + flushDelay + maxTime}");
        }

        if (http.MaxFlowsPerRequest < 1)
        {
            errors.Add($"{key}:maxFlowsPerRequest must be at least 1 (got {http.MaxFlowsPerRequest})");
        }

        if (http.MaxPendingBatches is < 1 or > 65535)
        {
            // It is also the queue's prefetch count, an unsigned 16-bit number in AMQP.
            errors.Add($"{key}:maxPendingBatches must be between 1 and 65535 (got {http.MaxPendingBatches})");
        }

        return errors.Count > before ? null : new HttpSinkSettings
        {
            Name = name,
            Url = url!,
            Method = method!,
            Gzip = gzip!.Value,
            Encoding = encoding!.Value,
            Headers = headers,
            Timeout = timeout,
            Interval = interval,
            FlushDelay = flushDelay,
            MaxFlowsPerRequest = http.MaxFlowsPerRequest,
            MaxPendingBatches = http.MaxPendingBatches,
            RetryMaxTime = maxTime,
            RetryInitialDelay = initialDelay,
            RetryMaxDelay = maxDelay,
        };
    }

    private static TimeSpan Duration(string? text, string fallback, string setting, TimeSpan min, TimeSpan max, List<string> errors)
    {
        if (!SinkDuration.TryParse(string.IsNullOrWhiteSpace(text) ? fallback : text, out var value))
        {
            errors.Add($"{setting} must be a duration such as 30s, 1m0s or 00:00:30 (got '{text}')");
            return TimeSpan.Zero;
        }

        if (value < min || value > max)
        {
            errors.Add($"{setting} must be between {min} and {max} (got {value})");
        }

        return value;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex SinkName();
}
