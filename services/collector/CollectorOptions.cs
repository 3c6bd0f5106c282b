using Microsoft.Extensions.Options;

namespace Egressd.Collector;

/// <summary>Settings under <c>Egressd:Collector</c>.</summary>
public sealed class CollectorOptions
{
    public const string Section = "Egressd:Collector";

    /// <summary>This node's name; defaults to the NODE_NAME environment variable, else the host name.</summary>
    public string? NodeName { get; set; }

    /// <summary>How often connection tracking is read; each read closes one window.</summary>
    public TimeSpan ReadInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Where flows come from: <c>replay</c> (a recorded JSON-lines file).</summary>
    public string Source { get; set; } = CollectorSources.Replay;

    /// <summary>The JSON-lines file the <c>replay</c> source reads.</summary>
    public string? ReplayFile { get; set; }

    /// <summary>Replay the file at every read (a steady demo load) instead of once.</summary>
    public bool ReplayLoop { get; set; }

    /// <summary>A window with more flows than this is cut into parts, each its own message.</summary>
    public int MaxFlowsPerPart { get; set; } = 5000;

    public string ResolveNodeName() =>
        NodeName is { Length: > 0 } name ? name
        : Environment.GetEnvironmentVariable("NODE_NAME") is { Length: > 0 } env ? env
        : Environment.MachineName;
}

public static class CollectorSources
{
    public const string Replay = "replay";
}

internal sealed class CollectorOptionsValidator : IValidateOptions<CollectorOptions>
{
    public ValidateOptionsResult Validate(string? name, CollectorOptions options)
    {
        var errors = new List<string>();
        if (options.ReadInterval <= TimeSpan.Zero)
        {
            errors.Add($"Egressd:Collector:ReadInterval must be positive (got {options.ReadInterval})");
        }

        if (options.MaxFlowsPerPart < 1)
        {
            errors.Add($"Egressd:Collector:MaxFlowsPerPart must be at least 1 (got {options.MaxFlowsPerPart})");
        }

        var source = options.Source?.Trim().ToLowerInvariant();
        if (source != CollectorSources.Replay)
        {
            errors.Add($"Egressd:Collector:Source must be '{CollectorSources.Replay}' (got '{options.Source}')");
        }
        else if (string.IsNullOrWhiteSpace(options.ReplayFile))
        {
            errors.Add("Egressd:Collector:ReplayFile is required when Egressd:Collector:Source is 'replay'");
        }
        else if (!File.Exists(options.ReplayFile))
        {
            errors.Add($"Egressd:Collector:ReplayFile '{options.ReplayFile}' does not exist");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
