using System.Text.RegularExpressions;
using Egressd.Shared.Bus;
using Egressd.Shared.Hosting;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.Prometheus;

internal sealed partial class PrometheusOptionsValidator(IOptions<BusOptions> bus) : IValidateOptions<PrometheusOptions>
{
    private const string Prefix = PrometheusOptions.Section;

    private const int MaxShards = 256;

    public ValidateOptionsResult Validate(string? optionsName, PrometheusOptions options)
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(options.Level))
        {
            errors.Add($"{Prefix}:Level must be one of {string.Join(", ", Enum.GetNames<LabelLevel>())} (got '{options.Level}')");
        }

        var added = FlowLabels.SplitList(options.AddLabels);
        var dropped = FlowLabels.SplitList(options.DropLabels);
        CheckNames($"{Prefix}:AddLabels", added, errors);
        CheckNames($"{Prefix}:DropLabels", dropped, errors);
        foreach (var both in added.Intersect(dropped, StringComparer.Ordinal))
        {
            errors.Add($"{Prefix}:AddLabels and {Prefix}:DropLabels both name '{both}'");
        }

        foreach (var (name, value) in options.StaticLabels)
        {
            var key = $"{Prefix}:StaticLabels:{name}";
            CheckStaticLabel(key, name, value, errors);
            if (FlowLabels.All.ContainsKey(name))
            {
                errors.Add($"{key}: '{name}' is a flow label; pick another name");
            }
        }

        DurationSetting.Validate(options.IdleTimeout, $"{Prefix}:IdleTimeout", TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), errors);
        if (options.Shards is < 1 or > MaxShards)
        {
            errors.Add($"{Prefix}:Shards must be between 1 and {MaxShards} (got {options.Shards})");
        }
        else if (options.Shards > 1 && bus.Value.Transport != BusTransport.RabbitMq)
        {
            errors.Add($"{Prefix}:Shards above 1 needs Egressd:Bus:Transport=RabbitMq: shards split the sink between replicas, and the in-memory bus has one");
        }

        DurationSetting.Validate(options.ShardTakeover, $"{Prefix}:ShardTakeover", TimeSpan.FromSeconds(4), TimeSpan.FromMinutes(10), errors);
        if (options.MaxSeries < 1)
        {
            errors.Add($"{Prefix}:MaxSeries must be at least 1 (got {options.MaxSeries})");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>A label name Prometheus accepts and does not reserve, with a value (an empty one would drop the label).</summary>
    public static void CheckStaticLabel(string key, string name, string? value, ICollection<string> errors)
    {
        if (!LabelName().IsMatch(name) || name.StartsWith("__", StringComparison.Ordinal))
        {
            errors.Add($"{key}: '{name}' is not a valid label name (letters, digits and '_', not starting with a digit or '__')");
        }

        if (string.IsNullOrEmpty(value))
        {
            errors.Add($"{key} must not be empty");
        }
    }

    private static void CheckNames(string key, IReadOnlyList<string> names, List<string> errors)
    {
        foreach (var name in names)
        {
            if (!FlowLabels.All.ContainsKey(name))
            {
                errors.Add($"{key}: unknown label '{name}' (known: {string.Join(", ", FlowLabels.All.Keys.Order(StringComparer.Ordinal))})");
            }
        }
    }

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();
}
