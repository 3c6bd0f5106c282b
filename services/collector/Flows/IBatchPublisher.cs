using Egressd.Contracts;

namespace Egressd.Collector.Flows;

/// <summary>Sends one batch part and returns once the broker has confirmed it.</summary>
public interface IBatchPublisher
{
    Task PublishAsync(FlowBatchCollected batch, CancellationToken cancellationToken);
}
