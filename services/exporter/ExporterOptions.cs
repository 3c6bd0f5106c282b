using Microsoft.Extensions.Options;

namespace Egressd.Exporter;

/// <summary>Settings under <c>Egressd:Exporter</c>.</summary>
public sealed class ExporterOptions
{
    public const string Section = "Egressd:Exporter";

    /// <summary>How many recently applied batch ids each sink remembers to drop redeliveries.</summary>
    public int DedupWindow { get; set; } = 100_000;

    /// <summary>A batch with more flows is refused (to the sink's <c>_error</c> queue): no enricher sends one.</summary>
    public int MaxFlowsPerBatch { get; set; } = 100_000;
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

        if (options.MaxFlowsPerBatch < 1)
        {
            errors.Add($"Egressd:Exporter:MaxFlowsPerBatch must be at least 1 (got {options.MaxFlowsPerBatch})");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
