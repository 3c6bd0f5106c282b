namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>What a label's value depends on alone (see <see cref="FlowLabel"/>).</summary>
internal enum FlowLabelSource
{
    /// <summary>The flow as a whole (protocol, class, names): read per flow.</summary>
    Flow,

    /// <summary>The source's <see cref="Egressd.Contracts.FlowEndpoint"/>, one instance per pod in a batch.</summary>
    SourceEndpoint,

    DestinationEndpoint,

    /// <summary>The source's address.</summary>
    SourceAddress,

    DestinationAddress,
}
