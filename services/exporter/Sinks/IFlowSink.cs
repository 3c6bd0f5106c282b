using Egressd.Contracts;

namespace Egressd.Exporter.Sinks;

/// <summary>Where enriched flows go. Each sink consumes from its own queue (<see cref="SinkQueue"/>), so a slow one holds back no other.</summary>
public interface IFlowSink
{
    /// <summary>Delivers one batch; returns once it is durable at the destination, throws if it is not.</summary>
    Task WriteAsync(FlowBatchEnriched batch, CancellationToken cancellationToken);
}
