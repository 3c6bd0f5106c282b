using System.Text.Json;

namespace Egressd.Shared.Inventory;

/// <summary>
/// A static description of a cluster (pods, nodes, services) for running without a Kubernetes
/// API: the local runner, tests, and clusters egressd may not watch. JSON, with the same field
/// names as the Kubernetes objects they stand for.
/// </summary>
public sealed record InventoryDocument
{
    public IReadOnlyList<InventoryNode> Nodes { get; init; } = [];

    public IReadOnlyList<InventoryPod> Pods { get; init; } = [];

    public IReadOnlyList<InventoryService> Services { get; init; } = [];

    /// <summary>Reads and checks an inventory file; errors name the file and the entry.</summary>
    public static InventoryDocument Load(string path)
    {
        InventoryDocument? document;
        try
        {
            using var stream = File.OpenRead(path);
            document = JsonSerializer.Deserialize(stream, InventoryJson.Default.InventoryDocument);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{path}: {ex.Message}", ex);
        }

        document ??= new InventoryDocument();
        if ((document.Pods ?? []).Any(p => p is null) || (document.Nodes ?? []).Any(n => n is null) || (document.Services ?? []).Any(s => s is null))
        {
            throw new FormatException($"{path}: a list holds a null entry");
        }

        // JSON null for a list means none, the same as leaving it out.
        document = document with
        {
            Nodes = [.. (document.Nodes ?? []).Select(n => n with { InternalIps = n.InternalIps ?? [], ExternalIps = n.ExternalIps ?? [], Labels = n.Labels ?? new Dictionary<string, string>() })],
            Pods = [.. (document.Pods ?? []).Select(p => p with { Ips = p.Ips ?? [] })],
            Services = [.. (document.Services ?? []).Select(s => s with { ClusterIps = s.ClusterIps ?? [] })],
        };

        foreach (var pod in document.Pods)
        {
            if (string.IsNullOrEmpty(pod.Name) || string.IsNullOrEmpty(pod.Namespace))
            {
                throw new FormatException($"{path}: every pod needs a name and a namespace");
            }

            foreach (var ip in pod.Ips)
            {
                if (!System.Net.IPAddress.TryParse(ip, out _))
                {
                    throw new FormatException($"{path}: pod {pod.Namespace}/{pod.Name} has '{ip}', which is not an IP address");
                }
            }
        }

        return document;
    }
}
