using System.Text.Json.Serialization;

namespace Egressd.Collector.Replay;

[JsonSerializable(typeof(ReplayFlowReader.ReplayLine))]
[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
internal sealed partial class ReplayJson : JsonSerializerContext;
