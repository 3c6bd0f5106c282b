using System.Text.Json;
using System.Text.Json.Serialization;

namespace Egressd.Shared.Inventory;

[JsonSerializable(typeof(InventoryDocument))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
internal sealed partial class InventoryJson : JsonSerializerContext;
