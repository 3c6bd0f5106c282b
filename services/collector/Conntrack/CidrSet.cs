using System.Net;

namespace Egressd.Collector.Conntrack;

/// <summary>A set of address ranges checked against <see cref="IpAddr"/> without allocating.</summary>
internal sealed class CidrSet
{
    private readonly (ulong Hi, ulong Lo, ulong MaskHi, ulong MaskLo)[] ranges;

    public CidrSet(IEnumerable<IPNetwork> networks)
    {
        ranges = [.. networks.Select(n =>
        {
            var baseAddress = IpAddr.From(n.BaseAddress);
            // IPv4 lives in the last 32 bits of the mapped form: its prefix starts at bit 96.
            var bits = n.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 96 + n.PrefixLength : n.PrefixLength;
            var maskHi = bits >= 64 ? ulong.MaxValue : bits == 0 ? 0 : ulong.MaxValue << (64 - bits);
            var maskLo = bits <= 64 ? 0 : bits >= 128 ? ulong.MaxValue : ulong.MaxValue << (128 - bits);
            return (baseAddress.Hi & maskHi, baseAddress.Lo & maskLo, maskHi, maskLo);
        })];
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
