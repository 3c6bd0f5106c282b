using Microsoft.Extensions.Options;

namespace Egressd.Exporter;

/// <summary>Settings under <c>Egressd:Exporter</c>.</summary>
public sealed class ExporterOptions
{
    public const string Section = "Egressd:Exporter";

    /// <summary>How many recently applied batch ids each sink remembers to drop redeliveries.</summary>
    public int DedupWindow { get; set; } = 100_000;

    public FlowLogOptions FlowLog { get; set; } = new();
}

/// <summary>Settings under <c>Egressd:Exporter:FlowLog</c>: one JSON line per flow.</summary>
public sealed class FlowLogOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>File to append to; <c>-</c> writes to standard output.</summary>
    public string Path { get; set; } = "-";
}

internal sealed class ExporterOptionsValidator : IValidateOptions<ExporterOptions>
{
    public ValidateOptionsResult Validate(string? name, ExporterOptions options)
    {
        var errors = new List<string>();
        if (options.DedupWindow < 1)
        {
            errors.Add($"Egressd:Exporter:DedupWindow must be at least 1 (got {options.DedupWindow})");
        }

        if (options.FlowLog.Enabled && string.IsNullOrWhiteSpace(options.FlowLog.Path))
        {
            errors.Add("Egressd:Exporter:FlowLog:Path must be a file or '-' for standard output");
        }
        else if (options.FlowLog.Enabled && options.FlowLog.Path != "-")
        {
            var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(options.FlowLog.Path));
            if (directory is not null && !Directory.Exists(directory))
            {
                errors.Add($"Egressd:Exporter:FlowLog:Path '{options.FlowLog.Path}': directory '{directory}' does not exist");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
