using System.Text.RegularExpressions;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>Settings under <c>Egressd:Exporter:Prometheus</c>: cumulative flow counters served on <c>/metrics</c>.</summary>
public sealed class PrometheusOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>The base label set: <c>pod</c> (egressd's labels), <c>workload</c> or <c>namespace</c>.</summary>
    public string Level { get; set; } = FlowLabels.LevelPod;

    /// <summary>Comma-separated labels added to the level's set.</summary>
    public string AddLabels { get; set; } = "";

    /// <summary>Comma-separated labels removed from the level's set; series that differed only in them are summed.</summary>
    public string DropLabels { get; set; } = "";

    /// <summary>Labels with fixed values on every flow series (e.g. <c>cluster</c>).</summary>
    public Dictionary<string, string> StaticLabels { get; set; } = [];

    /// <summary>A series that no flow has updated for this long is removed.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Most label sets kept at once; flows that would need another are counted as refused.</summary>
    public int MaxSeries { get; set; } = 200_000;

    /// <summary>The labels of every flow series, sorted by name (validated options only).</summary>
    internal IReadOnlyList<string> ResolveLabels()
    {
        var labels = new SortedSet<string>(FlowLabels.LevelLabels(Level) ?? [], StringComparer.Ordinal);
        labels.UnionWith(FlowLabels.SplitList(AddLabels));
        labels.ExceptWith(FlowLabels.SplitList(DropLabels));
        return [.. labels];
    }
}

internal static partial class PrometheusOptionsValidator
{
    private const string Prefix = "Egressd:Exporter:Prometheus";

    public static void Validate(PrometheusOptions options, List<string> errors)
    {
        if (FlowLabels.LevelLabels(options.Level ?? "") is null)
        {
            errors.Add($"{Prefix}:Level must be one of {string.Join(", ", FlowLabels.Levels)} (got '{options.Level}')");
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

        if (options.IdleTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{Prefix}:IdleTimeout must be positive (got {options.IdleTimeout})");
        }

        if (options.MaxSeries < 1)
        {
            errors.Add($"{Prefix}:MaxSeries must be at least 1 (got {options.MaxSeries})");
        }
    }

    /// <summary>A label name Prometheus accepts and does not reserve, with a value (an empty one would drop the label).</summary>
    public static void CheckStaticLabel(string key, string name, string? value, List<string> errors)
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
