namespace Egressd.Shared.Network;

/// <summary>Settings under <c>Egressd:Network</c>, shared by every service.</summary>
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

    /// <summary>Public addresses: outside the private ranges in force, the configured ones, else the defaults.</summary>
    public PublicAddresses PublicAddresses() => new(CidrSet.Parse(PrivateCidrs.Count == 0 ? DefaultPrivateCidrs : PrivateCidrs));
}
