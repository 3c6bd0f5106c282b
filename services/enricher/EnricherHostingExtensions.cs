using Egressd.Enricher.Enrichment;
using Egressd.Shared.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Egressd.Enricher;

public static class EnricherHostingExtensions
{
    /// <summary>The enricher as a service of its own: its bus, then its parts.</summary>
    public static IHostApplicationBuilder AddEnricher(this IHostApplicationBuilder builder)
    {
        builder.AddEgressdBus(x => x.AddEnricherConsumers());
        return builder.AddEnricherServices();
    }

    public static IBusRegistrationConfigurator AddEnricherConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<FlowBatchCollectedConsumer, FlowBatchCollectedConsumerDefinition>();
        return bus;
    }

    /// <summary>The enricher's parts, for a process whose bus is wired elsewhere.</summary>
    public static IHostApplicationBuilder AddEnricherServices(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<IFlowEnricher, DnsOnlyEnricher>();
        return builder;
    }
}
