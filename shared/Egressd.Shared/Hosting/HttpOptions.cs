using Microsoft.Extensions.Options;

namespace Egressd.Shared.Hosting;

/// <summary>Settings under <c>Egressd:Http</c>: where /healthz, /readyz and /metrics are served.</summary>
public sealed class HttpOptions
{
    public const string Section = "Egressd:Http";

    /// <summary>TCP port (collector 6061, enricher 6062, exporter 6060, local runner 6060).</summary>
    public int Port { get; set; }

    /// <summary>Address to listen on; 0.0.0.0 listens on every IPv4 and IPv6 address.</summary>
    public string BindAddress { get; set; } = "0.0.0.0";
}

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
