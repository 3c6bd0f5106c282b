using MassTransit;
using MassTransit.Middleware.Rescue;
using MassTransit.Transports;

namespace Egressd.Shared.Bus;

/// <summary>
/// Moves a body larger than the limit to <c>_error</c> before anything reads it: deserializing a
/// 48 MB batch costs the process many times its size, and a batch that large did not come from
/// an egressd service. Sits in front of MassTransit's own filters, so it moves the message itself.
/// </summary>
internal sealed class MessageSizeLimitFilter(long maxBytes, ParkedMessages parked) : IFilter<ReceiveContext>
{
    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        var size = context.Body.Length ?? context.GetBody().LongLength;
        if (size <= maxBytes)
        {
            await next.Send(context);
            return;
        }

        var error = new MessageTooLargeException($"the body is {size} bytes, more than Egressd:Bus:MaxMessageBytes ({maxBytes})");
        if (!context.TryGetPayload(out IErrorTransport? transport))
        {
            throw new InvalidOperationException("The endpoint has no error transport to move an oversized message to.", error);
        }

        // Throws when the channel is gone: the message then goes back to the queue, uncounted.
        await transport.Send(new RescueExceptionReceiveContext(context, error));
        parked.Record(context, "_error", FaultReasons.TooLarge, error.Message);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("egressd-size-limit");
}
