using System.Text.Json;
using System.Text.Json.Serialization;

namespace Egressd.Shared.Kubernetes;

/// <summary>
/// One line of a watch stream. The object stays raw until the type is known: an ERROR event's
/// object is a Status, every other event's is the watched kind.
/// </summary>
public sealed class ApiWatchLine
{
    public string? Type { get; init; }

    [JsonPropertyName("object")]
    public JsonElement Body { get; init; }
}
