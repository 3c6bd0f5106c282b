using System.Text.Json.Serialization;
using Egressd.Shared.Kubernetes;

namespace Egressd.Collector.Pods;

/// <summary>Compile-time JSON metadata for the pod watch: nothing is learned by reflection at run time.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ApiList<PodObject>))]
[JsonSerializable(typeof(PodObject))]
internal sealed partial class PodJsonContext : JsonSerializerContext;
