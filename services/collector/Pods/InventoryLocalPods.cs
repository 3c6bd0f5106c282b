using Egressd.Contracts;
using Egressd.Shared.Inventory;

namespace Egressd.Collector.Pods;

/// <summary>The pods an inventory file places on this node.</summary>
internal sealed class InventoryLocalPods : ILocalPods
{
    private readonly HashSet<IpAddr> addresses;
    private readonly HashSet<IpAddr> nodeAddresses;
    private readonly Dictionary<string, string?> hostNetworkPods = new(StringComparer.OrdinalIgnoreCase);

    public InventoryLocalPods(string path, string node, IReadOnlyCollection<string> excludedNamespaces)
    {
        var document = InventoryDocument.Load(path);
        var pods = document.Pods
            .Where(p => p.Node == node && !p.HostNetwork && !excludedNamespaces.Contains(p.Namespace))
            .ToList();
        addresses = [.. pods.SelectMany(p => p.Ips).Select(IpAddr.Parse)];
        var hostPods = document.Pods.Where(p => p.Node == node && p.HostNetwork).ToList();
        nodeAddresses = [.. hostPods.SelectMany(p => p.Ips).Select(IpAddr.Parse)];
        foreach (var pod in hostPods.Where(p => p.Uid is not null))
        {
            hostNetworkPods.TryAdd(pod.Uid!, excludedNamespaces.Contains(pod.Namespace) ? null : $"{pod.Namespace}/{pod.Name}");
        }

        Description = $"inventory file {path}: {pods.Count} pods on node {node} ({addresses.Count} addresses)";
    }

    public string Description { get; }

    public bool Contains(IpAddr address) => addresses.Contains(address);

    public bool IsNodeAddress(IpAddr address) => nodeAddresses.Contains(address);

    public bool TryGetHostNetworkPod(string uid, out string? pod) => hostNetworkPods.TryGetValue(uid, out pod);
}
