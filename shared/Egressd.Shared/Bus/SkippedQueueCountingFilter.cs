using MassTransit;

namespace Egressd.Shared.Bus;

/// <summary>
/// The last filter of an endpoint's dead-letter pipe, after MassTransit moved a message no
/// consumer here handles to <c>_skipped</c>: an unknown type is parked and counted, not lost.
/// </summary>
internal sealed class SkippedQueueCountingFilter(ParkedMessages parked) : IFilter<ReceiveContext>
{
    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        var types = context.TransportHeaders.Get<string>("MT-MessageType") ?? context.ContentType?.MediaType ?? "unknown";
        parked.Record(context, "_skipped", FaultReasons.UnknownType, $"no consumer for {types}");
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("egressd-count-skipped");
}
