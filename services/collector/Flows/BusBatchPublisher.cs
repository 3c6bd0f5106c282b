using Egressd.Shared.Bus;
using Egressd.Shared.Wire;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Egressd.Collector.Flows;

internal sealed class BusBatchPublisher(IBus bus, IOptions<BusOptions> options) : IBatchPublisher
{
    public Task PublishAsync(EncodedFlowBatch part, CancellationToken cancellationToken) =>
        bus.PublishBatchAsync(part, part.Header.Id, options.Value.PublishTimeout, cancellationToken);
}
