using System.Net;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Network;

/// <summary>Settings under <c>Egressd:Network</c>, shared by the collector and the enricher.</summary>
public sealed class NetworkOptions
{
    public const string Section = "Egressd:Network";

    /// <summary>Default private ranges: RFC 1918, carrier-grade NAT (RFC 6598) and IPv6 unique local addresses.</summary>
    public static readonly IReadOnlyList<string> DefaultPrivateCidrs = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"];

    /// <summary>
    /// Address ranges that are private: traffic to them is not internet traffic. Replaces the
    /// defaults when set (list every range you want, including the defaults you keep).
    /// </summary>
    public List<string> PrivateCidrs { get; set; } = [];

    public IReadOnlyList<IPNetwork> ParsePrivateCidrs() =>
        [.. (PrivateCidrs.Count == 0 ? DefaultPrivateCidrs : PrivateCidrs).Select(c => IPNetwork.Parse(c.Trim()))];
}

internal sealed class NetworkOptionsValidator : IValidateOptions<NetworkOptions>
{
    public ValidateOptionsResult Validate(string? name, NetworkOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.PrivateCidrs.Count; i++)
        {
            var text = options.PrivateCidrs[i]?.Trim();
            var slash = text?.IndexOf('/') ?? -1;
            if (text is null || slash < 0 || !IPAddress.TryParse(text[..slash], out var address) || !IPNetwork.TryParse(text, out var network))
            {
                errors.Add($"Egressd:Network:PrivateCidrs:{i} must be a CIDR such as 10.0.0.0/8 (got '{text}')");
            }
            else if (!network.BaseAddress.Equals(address))
            {
                // A typo like 10.0.0.1/8 more likely means 10.0.0.0/8 than a range that silently widened.
                errors.Add($"Egressd:Network:PrivateCidrs:{i} '{text}' has host bits set; did you mean {network}? (a CIDR must name its first address)");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
