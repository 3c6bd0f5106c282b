using System.Net;
using System.Net.Sockets;
using Egressd.Contracts;

namespace Egressd.Shared.Network;

/// <summary>A set of address ranges checked against <see cref="IpAddr"/> without allocating.</summary>
public sealed class CidrSet
{
    private readonly (ulong Hi, ulong Lo, ulong MaskHi, ulong MaskLo)[] ranges;

    public CidrSet(IEnumerable<IPNetwork> networks)
    {
        ranges = [.. networks.Select(n =>
        {
            var baseAddress = IpAddr.From(n.BaseAddress);
            // IPv4 lives in the last 32 bits of the mapped form: its prefix starts at bit 96.
            var bits = n.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 96 + n.PrefixLength : n.PrefixLength;
            var maskHi = bits >= 64 ? ulong.MaxValue : bits == 0 ? 0 : ulong.MaxValue << (64 - bits);
            var maskLo = bits <= 64 ? 0 : bits >= 128 ? ulong.MaxValue : ulong.MaxValue << (128 - bits);
            return (baseAddress.Hi & maskHi, baseAddress.Lo & maskLo, maskHi, maskLo);
        })];
    }

    public bool IsEmpty => ranges.Length == 0;

    /// <summary>Ranges written as CIDRs, each already checked by <see cref="Validate"/>.</summary>
    public static CidrSet Parse(IEnumerable<string> cidrs) => new(cidrs.Select(c => IPNetwork.Parse(c.Trim())));

    /// <summary>Adds one line per CIDR of <paramref name="cidrs"/> that is not one, naming <paramref name="setting"/>:<c>index</c>.</summary>
    public static void Validate(IReadOnlyList<string> cidrs, string setting, ICollection<string> errors)
    {
        for (var i = 0; i < cidrs.Count; i++)
        {
            var text = cidrs[i]?.Trim();
            var slash = text?.IndexOf('/') ?? -1;
            if (text is null || slash < 0 || !IPAddress.TryParse(text[..slash], out var address) || !IPNetwork.TryParse(text, out var network))
            {
                errors.Add($"{setting}:{i} must be a CIDR such as 10.0.0.0/8 (got '{text}')");
            }
            else if (!network.BaseAddress.Equals(address))
            {
                // A typo like 10.0.0.1/8 more likely means 10.0.0.0/8 than a range that silently widened.
                errors.Add($"{setting}:{i} '{text}' has host bits set; did you mean {network}? (a CIDR must name its first address)");
            }
        }
    }

    public bool Contains(IpAddr address)
    {
        foreach (var (hi, lo, maskHi, maskLo) in ranges)
        {
            if ((address.Hi & maskHi) == hi && (address.Lo & maskLo) == lo)
            {
                return true;
            }
        }

        return false;
    }
}
