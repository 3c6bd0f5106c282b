using Egressd.Shared.Wire;

namespace Egressd.Collector.Flows;

/// <summary>Sends one batch part and returns once the broker has confirmed it.</summary>
public interface IBatchPublisher
{
    Task PublishAsync(EncodedFlowBatch part, CancellationToken cancellationToken);
}
