using MassTransit;
using MassTransit.RabbitMqTransport;
using RabbitMQ.Client;

namespace Egressd.Shared.Bus;

/// <summary>
/// Parks a message on its last delivery before the quorum queue's limit, and counts it. The
/// broker would park it there itself when this delivery failed too, but nobody would count it:
/// a message that keeps killing its consumer dies with the process that held it. Here the next
/// process to receive it moves it, so the count survives the crash loop. The broker's own
/// dead-lettering stays as the backstop should this move fail.
/// </summary>
internal sealed class DeliveryLimitFilter(string endpoint, long limit, ParkedMessages parked) : IFilter<ReceiveContext>
{
    private const string DeliveryCountHeader = "x-delivery-count";

    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        var previous = DeliveryCount(context);
        if (previous < limit
            || !context.TryGetPayload(out ChannelContext? channel)
            || !context.TryGetPayload(out RabbitMqBasicConsumeContext? delivery))
        {
            await next.Send(context);
            return;
        }

        var properties = new BasicProperties(delivery.Properties);
        properties.Headers ??= new Dictionary<string, object?>();
        properties.Headers["MT-Reason"] = $"delivered {previous + 1} times without being acknowledged";
        // The dead-letter exchange the endpoint declared; confirmed, so a failure leaves the message queued.
        await channel.BasicPublishAsync(endpoint + "_dead", "", true, properties, context.GetBody(), true, context.CancellationToken);
        parked.Record(context, "_dead", FaultReasons.DeliveryLimit, $"{previous} deliveries were not acknowledged");
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("egressd-delivery-limit");

    private static long DeliveryCount(ReceiveContext context) =>
        context.TransportHeaders.TryGetHeader(DeliveryCountHeader, out var value) && value is not null
            ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)
            : 0;
}
