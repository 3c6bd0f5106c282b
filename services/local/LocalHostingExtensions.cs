using Egressd.Collector;
using Egressd.Enricher;
using Egressd.Exporter;
using Egressd.Shared.Bus;

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
        // The bus first: hosted services stop in reverse order, and the collector's last window
        // needs the bus still running.
        builder.AddEgressdBus(x =>
        {
            x.AddCollectorConsumers();
            x.AddEnricherConsumers();
            x.AddExporterConsumers(builder.Configuration);
        });
        builder.AddEnricherServices();
        builder.AddExporterServices();
        builder.AddCollectorServices();
        return builder;
    }
}
