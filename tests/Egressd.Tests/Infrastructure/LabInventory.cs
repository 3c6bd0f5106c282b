using System.Text.Json;

namespace Egressd.Tests.Infrastructure;

/// <summary>An inventory file for a lab: pods a and b on the lab's node, c on another.</summary>
internal static class LabInventory
{
    /// <param name="morePods">Further pods (anonymous objects of the inventory's pod shape), e.g. hostNetwork ones.</param>
    public static string Write(NetnsLab lab, params object[] morePods)
    {
        var path = Path.Combine(Path.GetTempPath(), $"egressd-inventory-{lab.Id}{(morePods.Length > 0 ? "-more" : "")}.json");
        var document = new
        {
            nodes = new object[]
            {
                new { name = lab.Node, zone = "zone-a", region = "region-1", internalIps = new[] { "10.244.1.1" } },
                new { name = $"egt-{lab.Id}-other", zone = "zone-b", region = "region-1", internalIps = new[] { "10.244.2.1" } },
            },
            pods = new object[]
            {
                new { @namespace = "shop", name = "web-a", node = lab.Node, ips = new[] { NetnsLab.V4("a"), NetnsLab.V6("a") }, workloadKind = "Deployment", workloadName = "web" },
                new { @namespace = "shop", name = "worker-b", node = lab.Node, ips = new[] { NetnsLab.V4("b"), NetnsLab.V6("b") }, workloadKind = "Deployment", workloadName = "worker" },
                new { @namespace = "shop", name = "db-c", node = $"egt-{lab.Id}-other", ips = new[] { NetnsLab.V4("c"), NetnsLab.V6("c") }, workloadKind = "StatefulSet", workloadName = "db" },
            }.Concat(morePods).ToArray(),
            services = new object[]
            {
                new { @namespace = "shop", name = "db", clusterIps = new[] { NetnsLab.ServiceV4, NetnsLab.ServiceV6 } },
            },
        };
        File.WriteAllText(path, JsonSerializer.Serialize(document));
        return path;
    }
}
