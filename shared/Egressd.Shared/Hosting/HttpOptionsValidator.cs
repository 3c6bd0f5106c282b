using Microsoft.Extensions.Options;

namespace Egressd.Shared.Hosting;

internal sealed class HttpOptionsValidator : IValidateOptions<HttpOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpOptions options)
    {
        if (options.Port is < 0 or > 65535)
        {
            return ValidateOptionsResult.Fail($"Egressd:Http:Port must be between 0 and 65535 (got {options.Port})");
        }

        return System.Net.IPAddress.TryParse(options.BindAddress, out _)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Egressd:Http:BindAddress must be an IP address (got '{options.BindAddress}')");
    }
}
