using Egressd.Exporter.Sinks;
using Egressd.Shared.Bus;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter;

public static class ExporterHostingExtensions
{
    /// <summary>The exporter as a service of its own: its bus, then its parts.</summary>
    public static IHostApplicationBuilder AddExporter(this IHostApplicationBuilder builder)
    {
        builder.AddEgressdBus(x => x.AddExporterConsumers(builder.Configuration));
        return builder.AddExporterServices();
    }

    /// <summary>One consumer, on its own queue, per enabled sink.</summary>
    public static IBusRegistrationConfigurator AddExporterConsumers(this IBusRegistrationConfigurator bus, IConfiguration configuration)
    {
        // Consumers are registered while the container is built, before options exist.
        if (configuration.GetValue($"{ExporterOptions.Section}:FlowLog:Enabled", true))
        {
            bus.AddConsumer<FlowSinkConsumer<FlowLogSink>, FlowSinkConsumerDefinition<FlowLogSink>>();
        }

        return bus;
    }

    /// <summary>The exporter's parts, for a process whose bus is wired elsewhere.</summary>
    public static IHostApplicationBuilder AddExporterServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ExporterOptions>().BindConfiguration(ExporterOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ExporterOptions>, ExporterOptionsValidator>();
        services.AddSingleton<FlowLogSink>();
        services.AddSingleton(sp => new AppliedBatches<FlowLogSink>(sp.GetRequiredService<IOptions<ExporterOptions>>().Value.DedupWindow));
        return builder;
    }
}
