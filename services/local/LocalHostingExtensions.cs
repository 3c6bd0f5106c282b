using Egressd.Collector;
using Egressd.Enricher;
using Egressd.Exporter;
using Egressd.Local.Demo;
using Egressd.Local.View;
using Egressd.Shared.Bus;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Egressd.Local;

public static class LocalHostingExtensions
{
    /// <summary>
    /// Collector, enricher and exporter on one bus in one process. The transport is still read
    /// from configuration (in-memory unless told otherwise), so the same wiring runs on RabbitMQ.
    /// </summary>
    public static IHostApplicationBuilder AddAllInOne(this IHostApplicationBuilder builder)
    {
        // The sinks named in the exporter's config file decide which queues the bus consumes.
        builder.AddExporterConfigFile();
        var view = builder.Configuration.GetSection(ViewOptions.Section).Get<ViewOptions>() ?? new ViewOptions();
        // The bus first: hosted services stop in reverse order, and the collector's last window
        // needs the bus still running.
        builder.AddEgressdBus(x =>
        {
            x.AddCollectorConsumers();
            x.AddEnricherConsumers();
            x.AddExporterConsumers(builder.Configuration);
            if (view.Mode != ViewMode.Off)
            {
                x.AddConsumer<ViewConsumer, ViewConsumerDefinition>();
            }
        });
        builder.AddEnricherServices();
        builder.AddExporterServices();
        builder.AddCollectorServices();
        builder.AddLocalRunnerServices();
        return builder;
    }

    /// <summary>What only the local runner has: the demo's traffic and the terminal view.</summary>
    private static IHostApplicationBuilder AddLocalRunnerServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DemoOptions>().BindConfiguration(DemoOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DemoOptions>, DemoOptionsValidator>();
        if (OperatingSystem.IsLinux())
        {
            services.AddHostedService<DemoTraffic>();
        }

        services.AddOptions<ViewOptions>().BindConfiguration(ViewOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ViewOptions>, ViewOptionsValidator>();
        services.AddSingleton(sp => new ViewWindows(sp.GetRequiredService<IOptions<ViewOptions>>().Value.TopFlows));
        services.AddHostedService<TerminalView>();
        return builder;
    }
}
