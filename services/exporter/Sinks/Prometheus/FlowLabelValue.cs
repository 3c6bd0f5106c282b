using Egressd.Contracts;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>
/// Reads one label's value from an enriched flow and its two ends (entries of the batch's
/// endpoint table). The flow is passed by reference: it is a large struct, and a copy per label
/// per flow was a measurable share of applying a batch.
/// </summary>
internal delegate string FlowLabelValue(in EnrichedFlow flow, FlowEndpoint source, FlowEndpoint destination, FlowLabelContext context);
