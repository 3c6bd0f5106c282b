namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>
/// One label a flow series can carry, how its value is read from an enriched flow, and what that
/// value depends on: a value of one end's endpoint or address is looked up once per distinct end
/// of a batch, not once per flow.
/// </summary>
internal sealed record FlowLabel(string Name, FlowLabelValue Value, FlowLabelSource Source = FlowLabelSource.Flow);
