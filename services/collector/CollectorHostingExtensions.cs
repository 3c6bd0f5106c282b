using Egressd.Collector.Flows;
using Egressd.Collector.Replay;
using Egressd.Shared.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Egressd.Collector;

public static class CollectorHostingExtensions
{
    /// <summary>The collector as a service of its own: its bus, then its parts.</summary>
    public static IHostApplicationBuilder AddCollector(this IHostApplicationBuilder builder)
    {
        builder.AddEgressdBus(x => x.AddCollectorConsumers());
        return builder.AddCollectorServices();
    }

    /// <summary>The collector only publishes; it has no consumers.</summary>
    public static IBusRegistrationConfigurator AddCollectorConsumers(this IBusRegistrationConfigurator bus) => bus;

    /// <summary>The collector's parts, for a process whose bus is wired elsewhere (the local runner, tests).</summary>
    public static IHostApplicationBuilder AddCollectorServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<CollectorOptions>().BindConfiguration(CollectorOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CollectorOptions>, CollectorOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IFlowReader>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<CollectorOptions>>().Value;
            return new ReplayFlowReader(options.ReplayFile!, options.ReplayLoop, sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton<IBatchPublisher, BusBatchPublisher>();
        services.AddHostedService<CollectorWorker>();
        return builder;
    }
}
