using Egressd.Shared.Network;
using Microsoft.Extensions.Options;

namespace Egressd.Enricher;

internal sealed class EnricherOptionsValidator : IValidateOptions<EnricherOptions>
{
    public ValidateOptionsResult Validate(string? name, EnricherOptions options)
    {
        var errors = new List<string>();
        if (options.MaxFlowsPerBatch < 1)
        {
            errors.Add($"{EnricherOptions.Section}:MaxFlowsPerBatch must be at least 1 (got {options.MaxFlowsPerBatch})");
        }

        if (options.DnsMaxEntries < 1)
        {
            errors.Add($"{EnricherOptions.Section}:DnsMaxEntries must be at least 1 (got {options.DnsMaxEntries})");
        }

        CidrSet.Validate(options.InZoneCidrs, $"{EnricherOptions.Section}:{nameof(options.InZoneCidrs)}", errors);
        CidrSet.Validate(options.InRegionCidrs, $"{EnricherOptions.Section}:{nameof(options.InRegionCidrs)}", errors);
        CidrSet.Validate(options.CrossRegionCidrs, $"{EnricherOptions.Section}:{nameof(options.CrossRegionCidrs)}", errors);
        CidrSet.Validate(options.InternetCidrs, $"{EnricherOptions.Section}:{nameof(options.InternetCidrs)}", errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
