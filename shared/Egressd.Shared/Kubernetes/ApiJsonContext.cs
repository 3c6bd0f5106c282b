using System.Text.Json.Serialization;

namespace Egressd.Shared.Kubernetes;

/// <summary>
/// Compile-time JSON metadata for the API's own envelopes. Each service declares its own context
/// for the kinds it reads (<c>ApiList&lt;PodObject&gt;</c>, ...), so only those types are ever loaded.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ApiWatchLine))]
[JsonSerializable(typeof(ApiStatus))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
