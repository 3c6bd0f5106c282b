using System.Text.Json.Serialization;

namespace Egressd.Shared.Kubernetes;

/// <summary>
/// Compile-time JSON metadata for what egressd reads from the API server: nothing is learned by
/// reflection at run time, and a kind's metadata is built only when a service first reads that kind.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ApiWatchLine))]
[JsonSerializable(typeof(ApiStatus))]
[JsonSerializable(typeof(ApiList<PodObject>))]
[JsonSerializable(typeof(PodObject))]
[JsonSerializable(typeof(ApiList<NodeObject>))]
[JsonSerializable(typeof(NodeObject))]
[JsonSerializable(typeof(ApiList<ServiceObject>))]
[JsonSerializable(typeof(ServiceObject))]
[JsonSerializable(typeof(ApiList<MetadataObject>))]
[JsonSerializable(typeof(MetadataObject))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
