using MassTransit;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// Names the sink's queue <c>egressd-exporter-http-{name}</c> and, for a sink that accumulates,
/// lets the queue hand over as many batches as the sink may hold at once.
/// </summary>
internal sealed class HttpSinkConsumerDefinition<TSlot> : ConsumerDefinition<HttpSinkConsumer<TSlot>>
    where TSlot : IHttpSinkSlot
{
    private readonly HttpSinkSettings settings;

    public HttpSinkConsumerDefinition(IOptions<HttpSinksOptions> options)
    {
        var all = options.Value;
        var name = all.HttpSinkNames()[TSlot.Index];
        // Validated at start (ValidateOnStart runs before the bus starts).
        settings = HttpSinkSettings.Resolve(name, all.Sinks[name].Http!, all.ExportInterval, [])!;
        EndpointName = settings.Queue;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<HttpSinkConsumer<TSlot>> consumerConfigurator,
        IRegistrationContext context)
    {
        if (settings.Interval > TimeSpan.Zero)
        {
            // An interval's batches are all held (unacknowledged) until its request succeeds.
            endpointConfigurator.PrefetchCount = settings.MaxPendingBatches;
            endpointConfigurator.ConcurrentMessageLimit = settings.MaxPendingBatches;
        }
    }
}
