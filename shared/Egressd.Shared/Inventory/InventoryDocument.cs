using System.Text.Json;
using System.Text.Json.Serialization;

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

public sealed record InventoryNode
{
    public required string Name { get; init; }

    public string? Zone { get; init; }

    public string? Region { get; init; }

    public IReadOnlyList<string> InternalIps { get; init; } = [];
}

public sealed record InventoryPod
{
    public required string Namespace { get; init; }

    public required string Name { get; init; }

    public string? Node { get; init; }

    /// <summary>Every address of the pod (status.podIPs), IPv4 and IPv6.</summary>
    public IReadOnlyList<string> Ips { get; init; } = [];

    /// <summary>A hostNetwork pod shares its node's addresses and is not told apart from the node.</summary>
    public bool HostNetwork { get; init; }

    public string? WorkloadKind { get; init; }

    public string? WorkloadName { get; init; }
}

public sealed record InventoryService
{
    public required string Namespace { get; init; }

    public required string Name { get; init; }

    public IReadOnlyList<string> ClusterIps { get; init; } = [];
}

[JsonSerializable(typeof(InventoryDocument))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
internal sealed partial class InventoryJson : JsonSerializerContext;
