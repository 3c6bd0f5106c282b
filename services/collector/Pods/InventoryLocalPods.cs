using Egressd.Contracts;
using Egressd.Shared.Inventory;

namespace Egressd.Collector.Pods;

/// <summary>The pods an inventory file places on this node.</summary>
internal sealed class InventoryLocalPods : ILocalPods
{
    private readonly HashSet<IpAddr> addresses;

    public InventoryLocalPods(string path, string node, IReadOnlyCollection<string> excludedNamespaces)
    {
        var document = InventoryDocument.Load(path);
        var pods = document.Pods
            .Where(p => p.Node == node && !p.HostNetwork && !excludedNamespaces.Contains(p.Namespace))
            .ToList();
        addresses = [.. pods.SelectMany(p => p.Ips).Select(IpAddr.Parse)];
        Description = $"inventory file {path}: {pods.Count} pods on node {node} ({addresses.Count} addresses)";
    }

    public string Description { get; }

    public bool Contains(IpAddr address) => addresses.Contains(address);
}
