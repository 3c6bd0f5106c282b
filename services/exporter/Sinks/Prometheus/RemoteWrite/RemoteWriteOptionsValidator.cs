using Egressd.Shared.Hosting;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.Prometheus.RemoteWrite;

internal sealed class RemoteWriteOptionsValidator(IOptions<PrometheusOptions> prometheusOptions) : IValidateOptions<RemoteWriteOptions>
{
    private const string Prefix = RemoteWriteOptions.Section;

    public ValidateOptionsResult Validate(string? optionsName, RemoteWriteOptions options)
    {
        var errors = new List<string>();
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var prometheus = prometheusOptions.Value;
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

        DurationSetting.Validate(options.Interval, $"{Prefix}:Interval", TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), errors);
        DurationSetting.Validate(options.Timeout, $"{Prefix}:Timeout", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10), errors);

        if (options.RetryLimit < 0)
        {
            errors.Add($"{Prefix}:RetryLimit must not be negative (got {options.RetryLimit})");
        }

        DurationSetting.Validate(options.RetryDelay, $"{Prefix}:RetryDelay", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), errors);

        if (options.MaxSamplesPerRequest < 4)
        {
            errors.Add($"{Prefix}:MaxSamplesPerRequest must be at least 4 (got {options.MaxSamplesPerRequest})");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
