using Egressd.Contracts;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>One label a flow series can carry, and how its value is read from an enriched flow.</summary>
internal sealed record FlowLabel(string Name, Func<EnrichedFlow, FlowLabelContext, string> Value);
