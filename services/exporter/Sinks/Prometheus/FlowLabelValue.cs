using Egressd.Contracts;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>
/// Reads one label's value from an enriched flow. The flow is passed by reference: it is a large
/// struct, and a copy per label per flow was a measurable share of applying a batch.
/// </summary>
internal delegate string FlowLabelValue(in EnrichedFlow flow, FlowLabelContext context);
