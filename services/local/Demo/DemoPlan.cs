using System.Text.Json;

namespace Egressd.Local.Demo;

/// <summary>The traffic of the demo cluster, as demo-cluster.sh writes it.</summary>
public sealed record DemoPlan
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Where flows whose target is a name ask for its address (over UDP, from the client pod).</summary>
    public string? DnsServer { get; init; }

    public required IReadOnlyList<DemoFlow> Flows { get; init; }

    public static DemoPlan Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<DemoPlan>(File.ReadAllText(path), Json)
                ?? throw new FormatException($"{path} is empty");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{path} is not a demo plan: {ex.Message}", ex);
        }
    }
}
