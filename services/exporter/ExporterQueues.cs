using Egressd.Exporter.Sinks;
using Egressd.Shared.Bus;
using MassTransit;

namespace Egressd.Exporter;

/// <summary>Every enabled sink's queue, each with its one consumer, made with the bus.</summary>
internal sealed class ExporterQueues(IEnumerable<SinkQueue> queues) : INamedReceiveEndpoints
{
    public IEnumerable<(string Queue, Action<IReceiveEndpointConfigurator> Configure)> Endpoints() =>
        queues.Where(q => !q.OnShardQueues).Select(q => (q.Queue, (Action<IReceiveEndpointConfigurator>)q.Configure));
}
