using Egressd.Exporter.Sinks;
using Egressd.Exporter.Sinks.FlowLog;
using Egressd.Exporter.Sinks.Http;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Exporter.Sinks.Prometheus.RemoteWrite;
using Egressd.Shared.Bus;
using Egressd.Shared.Hosting;
using Egressd.Shared.Network;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter;

public static class ExporterHostingExtensions
{
    /// <summary>The exporter as a service of its own: its bus, then its parts.</summary>
    public static IHostApplicationBuilder AddExporter(this IHostApplicationBuilder builder)
    {
        builder.AddExporterConfigFile();
        builder.AddEgressdBus(x => x.AddExporterConsumers(builder.Configuration));
        return builder.AddExporterServices();
    }

    /// <summary>
    /// egressd's exporter config file, when <c>Egressd:Exporter:ConfigFile</c> names one, read into
    /// configuration. Before the bus: the sinks it names decide which queues the exporter consumes.
    /// </summary>
    public static IHostApplicationBuilder AddExporterConfigFile(this IHostApplicationBuilder builder)
    {
        builder.Configuration.AddExporterConfigFile(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// One consumer, on its own queue, per enabled sink (<see cref="SinkQueue"/>): the queues are made
    /// with the bus, from the sinks <see cref="AddExporterServices"/> registers.
    /// </summary>
    public static IBusRegistrationConfigurator AddExporterConsumers(this IBusRegistrationConfigurator bus, IConfiguration configuration)
    {
        bus.AddSingleton<INamedReceiveEndpoints, ExporterQueues>();
        bus.AddPrometheusShards(configuration);
        bus.AddMetrics<SinkMetrics>();
        return bus;
    }

    /// <summary>The exporter's parts, for a process whose bus is wired elsewhere.</summary>
    public static IHostApplicationBuilder AddExporterServices(this IHostApplicationBuilder builder)
    {
        builder.AddExporterConfigFile();
        var services = builder.Services;
        services.AddOptions<ExporterOptions>().BindConfiguration(ExporterOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ExporterOptions>, ExporterOptionsValidator>();
        services.AddEgressdNetwork();
        services.TryAddSingleton(TimeProvider.System);
        services.AddFlowLogSink(builder.Configuration);
        services.AddPrometheusSink(builder.Configuration);
        services.AddHttpSinks(builder.Configuration);
        return builder;
    }

    // A sink's settings, typed, while the container is being built: consumers and services are
    // chosen before options exist. The same section is bound and validated again as options.
    // One method a type, so the binding is generated at compile time.
    internal static HttpSinksOptions HttpSinksSettings(this IConfiguration configuration) =>
        configuration.GetSection(HttpSinksOptions.Section).Get<HttpSinksOptions>() ?? new();

    internal static PrometheusOptions PrometheusSettings(this IConfiguration configuration) =>
        configuration.GetSection(PrometheusOptions.Section).Get<PrometheusOptions>() ?? new();

    internal static RemoteWriteOptions RemoteWriteSettings(this IConfiguration configuration) =>
        configuration.GetSection(RemoteWriteOptions.Section).Get<RemoteWriteOptions>() ?? new();

    internal static FlowLogOptions FlowLogSettings(this IConfiguration configuration) =>
        configuration.GetSection(FlowLogOptions.Section).Get<FlowLogOptions>() ?? new();
}
