using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Egressd.Shared.Bus;

/// <summary>
/// Where an endpoint parks what it cannot consume, and the one metric that counts it
/// (<see cref="BusMetrics.Faulted"/>, the host's). MassTransit calls its receive observers' fault hook both
/// for a message moved to <c>_error</c> and for one merely returned to its queue (a consume
/// cancelled when the channel closed), and not at all for a consumer that failed after its
/// retries; so the counting sits in the pipes that do the moving, after the move.
/// </summary>
internal static class FaultAccounting
{
    public static void UseFaultAccounting(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context, string name, BusOptions options)
    {
        var logger = context.GetRequiredService<ILoggerFactory>().CreateLogger("Egressd.Shared.Bus.FaultAccounting");
        var parked = new ParkedMessages(context.GetRequiredService<BusMetrics>(), logger);
        endpoint.ConfigureReceive(r =>
        {
            if (endpoint is IRabbitMqReceiveEndpointConfigurator)
            {
                // Park on the last delivery the queue's limit allows, so a crash loop is counted.
                r.UseFilter(new DeliveryLimitFilter(name, BusHostingExtensions.DeliveryLimit - 1, parked));
            }

            r.UseFilter(new MessageSizeLimitFilter(options.MaxMessageBytes, parked));
        });
        endpoint.ConfigureError(e =>
        {
            e.UseFilter(new MassTransit.Middleware.GenerateFaultFilter());
            e.UseFilter(new MassTransit.Middleware.ErrorTransportFilter());
            e.UseFilter(new ErrorQueueCountingFilter(parked));
        });
        endpoint.ConfigureDeadLetter(d =>
        {
            d.UseFilter(new MassTransit.Middleware.DeadLetterTransportFilter());
            d.UseFilter(new SkippedQueueCountingFilter(parked));
        });
    }
}
