using MassTransit;

namespace Egressd.Shared.Bus;

/// <summary>
/// Receive endpoints a service names itself, for one consumer type that serves several queues (one
/// per configured sink) where MassTransit would give a registered consumer type one endpoint.
/// Asked once, when the bus is made (options are bound by then). Each endpoint gets the wiring every
/// endpoint of the bus gets (retries, outbox, fault accounting, quorum queue), then its own.
/// </summary>
public interface INamedReceiveEndpoints
{
    IEnumerable<(string Queue, Action<IReceiveEndpointConfigurator> Configure)> Endpoints();
}
