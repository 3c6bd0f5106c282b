using Microsoft.Extensions.Options;

namespace Egressd.Exporter;

/// <summary>Settings under <c>Egressd:Exporter</c>.</summary>
public sealed class ExporterOptions
{
    public const string Section = "Egressd:Exporter";

    /// <summary>How many recently applied batch ids each sink remembers to drop redeliveries.</summary>
    public int DedupWindow { get; set; } = 100_000;

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

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
