using Egressd.Shared.Hosting;
using Microsoft.Extensions.Options;

namespace Egressd.Collector.Dns;

internal sealed class DnsOptionsValidator : IValidateOptions<DnsOptions>
{
    public ValidateOptionsResult Validate(string? name, DnsOptions options)
    {
        var errors = new List<string>();
        DurationSetting.Validate(options.MinTtl, $"{DnsOptions.Section}:MinTtl", TimeSpan.Zero, TimeSpan.FromDays(1), errors);
        DurationSetting.Validate(options.MaxTtl, $"{DnsOptions.Section}:MaxTtl", TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), errors);
        if (options.MaxTtl < options.MinTtl)
        {
            errors.Add($"{DnsOptions.Section}:MaxTtl ({options.MaxTtl}) must not be below {DnsOptions.Section}:MinTtl ({options.MinTtl})");
        }

        if (options.MaxEntries is < 1 or > 10_000_000)
        {
            errors.Add($"{DnsOptions.Section}:MaxEntries must be from 1 to 10000000 (got {options.MaxEntries})");
        }

        if (options.ReceiveBufferBytes is < 64 * 1024 or > 1 << 30)
        {
            errors.Add($"{DnsOptions.Section}:ReceiveBufferBytes must be from 65536 to 1073741824 (got {options.ReceiveBufferBytes})");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
