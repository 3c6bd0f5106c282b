using Egressd.Shared.Hosting;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.FlowLog;

/// <summary>The flow-log sink's wiring: its options, the sink, its consumer.</summary>
internal static class FlowLogHostingExtensions
{
    /// <summary>Whether the flow log is on (read from configuration: consumers are registered before options exist).</summary>
    public static bool FlowLogEnabled(this IConfiguration configuration) =>
        configuration.FlowLogSettings().Enabled;

    public static IBusRegistrationConfigurator AddFlowLogConsumer(this IBusRegistrationConfigurator bus, IConfiguration configuration)
    {
        if (configuration.FlowLogEnabled())
        {
            bus.AddConsumer<FlowSinkConsumer<FlowLogSink>, FlowSinkConsumerDefinition<FlowLogSink>>();
        }

        return bus;
    }

    public static IServiceCollection AddFlowLogSink(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FlowLogOptions>().BindConfiguration(FlowLogOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FlowLogOptions>, FlowLogOptionsValidator>();
        if (!configuration.FlowLogEnabled())
        {
            return services;
        }

        services.AddMetrics<FlowLogMetrics>();
        services.AddSingleton<FlowLogSink>();
        services.AddSingleton(sp => new AppliedBatches<FlowLogSink>(sp.GetRequiredService<IOptions<ExporterOptions>>().Value.DedupWindow));
        services.AddHostedService<FlowLogStartup>();
        return services;
    }
}
