using MassTransit;

namespace Egressd.Shared.Bus;

/// <summary>
/// The last filter of an endpoint's error pipe, after MassTransit's own move to <c>_error</c>: it
/// runs only when that move succeeded. A consume cancelled because the channel closed never
/// gets here (MassTransit's rescue ignores cancellations and the broker requeues the message).
/// </summary>
internal sealed class ErrorQueueCountingFilter(ParkedMessages parked) : IFilter<ExceptionReceiveContext>
{
    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        parked.Record(context, "_error", Reason(context.Exception), $"{context.Exception.GetType().Name}: {context.Exception.Message}");
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("egressd-count-error");

    internal static string Reason(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case InvalidMessageException invalid:
                    return invalid.Reason;
                case MessageTooLargeException:
                    return FaultReasons.TooLarge;
                case System.Runtime.Serialization.SerializationException or System.Text.Json.JsonException:
                    return FaultReasons.Malformed;
            }
        }

        return FaultReasons.ConsumerFailed;
    }
}
