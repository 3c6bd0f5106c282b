using Egressd.Contracts;
using Egressd.Shared.Network;

namespace Egressd.Shared.Cost;

/// <summary>
/// Places a node from what the API says of it: the provider from <c>spec.providerID</c> (or the
/// cluster-wide <c>Egressd:Cost:Provider</c>), region and zone from the topology labels, and NAT from
/// its addresses: a node without an <c>ExternalIP</c>, or one the NAT settings name, goes out through NAT.
/// </summary>
public sealed class NodePlacementResolver
{
    private const string RegionLabel = "topology.kubernetes.io/region";
    private const string ZoneLabel = "topology.kubernetes.io/zone";
    private const string LegacyRegionLabel = "failure-domain.beta.kubernetes.io/region";
    private const string LegacyZoneLabel = "failure-domain.beta.kubernetes.io/zone";

    private readonly CloudProviderSetting provider;
    private readonly string? region;
    private readonly bool nat;
    private readonly NodeSelector natSelector;
    private readonly CidrSet natNetworks;

    /// <param name="options">Already checked by the options validator.</param>
    public NodePlacementResolver(CostOptions options)
    {
        provider = options.Provider;
        region = string.IsNullOrWhiteSpace(options.Region) ? null : options.Region.Trim();
        nat = options.Nat.Enabled;
        natSelector = NodeSelector.TryParse(options.Nat.NodeSelector, out var selector) ? selector : NodeSelector.Empty;
        natNetworks = CidrSet.Parse(options.Nat.NodeCidrs);
    }

    /// <param name="providerId">The node's <c>spec.providerID</c>.</param>
    /// <param name="labels">The node's labels.</param>
    /// <param name="externalAddresses">The node's <c>ExternalIP</c> addresses.</param>
    /// <param name="internalAddresses">The node's <c>InternalIP</c> addresses.</param>
    public NodePlacement Resolve(
        string? providerId,
        IReadOnlyDictionary<string, string>? labels,
        IReadOnlyCollection<string>? externalAddresses,
        IReadOnlyCollection<IpAddr>? internalAddresses) => new()
        {
            Provider = provider switch
            {
                CloudProviderSetting.Aws => CloudProvider.Aws,
                CloudProviderSetting.Gcp => CloudProvider.Gcp,
                CloudProviderSetting.Azure => CloudProvider.Azure,
                CloudProviderSetting.None => CloudProvider.Unknown,
                _ => ProviderIds.Provider(providerId),
            },
            Region = Label(labels, RegionLabel, LegacyRegionLabel) ?? region,
            Zone = Label(labels, ZoneLabel, LegacyZoneLabel) ?? ProviderIds.Zone(providerId),
            BehindNat = nat && (externalAddresses is null || !externalAddresses.Any(a => !string.IsNullOrWhiteSpace(a))
                || natSelector.Matches(labels)
                || (internalAddresses is not null && internalAddresses.Any(natNetworks.Contains))),
        };

    private static string? Label(IReadOnlyDictionary<string, string>? labels, string key, string legacyKey) =>
        labels is null ? null
        : labels.TryGetValue(key, out var value) && !string.IsNullOrEmpty(value) ? value
        : labels.TryGetValue(legacyKey, out var legacy) && !string.IsNullOrEmpty(legacy) ? legacy
        : null;
}
