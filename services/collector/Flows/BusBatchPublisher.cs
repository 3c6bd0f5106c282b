using Egressd.Contracts;
using Egressd.Shared.Bus;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Egressd.Collector.Flows;

internal sealed class BusBatchPublisher(IBus bus, IOptions<BusOptions> options) : IBatchPublisher
{
    public Task PublishAsync(FlowBatchCollected batch, CancellationToken cancellationToken) =>
        bus.PublishBatchAsync(batch, batch.Id, options.Value.PublishTimeout, cancellationToken);
}
