using Microsoft.Extensions.Options;

namespace Egressd.Exporter;

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
