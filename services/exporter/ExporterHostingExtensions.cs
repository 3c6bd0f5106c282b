using Egressd.Exporter.Sinks;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Exporter.Sinks.RemoteWrite;
using Egressd.Shared.Bus;
using Egressd.Shared.Hosting;
using Egressd.Shared.Network;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

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
        if (FlowLogEnabled(configuration))
        {
            bus.AddConsumer<FlowSinkConsumer<FlowLogSink>, FlowSinkConsumerDefinition<FlowLogSink>>();
        }

        if (PrometheusEnabled(configuration))
        {
            bus.AddConsumer<FlowSinkConsumer<PrometheusSink>, FlowSinkConsumerDefinition<PrometheusSink>>();
        }

        return bus;
    }

    /// <summary>The exporter's parts, for a process whose bus is wired elsewhere.</summary>
    public static IHostApplicationBuilder AddExporterServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ExporterOptions>().BindConfiguration(ExporterOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ExporterOptions>, ExporterOptionsValidator>();
        services.AddEgressdNetwork();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<FlowLogSink>();
        services.AddSingleton(sp => new AppliedBatches<FlowLogSink>(sp.GetRequiredService<IOptions<ExporterOptions>>().Value.DedupWindow));
        if (PrometheusEnabled(builder.Configuration))
        {
            services.AddPrometheusSink();
        }

        if (PrometheusEnabled(builder.Configuration) && builder.Configuration.GetValue($"{ExporterOptions.Section}:RemoteWrite:Enabled", false))
        {
            services.AddRemoteWrite();
        }

        return builder;
    }

    private static bool FlowLogEnabled(IConfiguration configuration) =>
        configuration.GetValue($"{ExporterOptions.Section}:FlowLog:Enabled", true);

    private static bool PrometheusEnabled(IConfiguration configuration) =>
        configuration.GetValue($"{ExporterOptions.Section}:Prometheus:Enabled", true);

    private static void AddPrometheusSink(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ExporterOptions>>().Value.Prometheus;
            var network = sp.GetRequiredService<IOptions<NetworkOptions>>().Value;
            return new FlowSeriesStore(
                options.ResolveLabels(),
                new FlowLabelContext(network.ParsePrivateCidrs()),
                options.MaxSeries,
                options.IdleTimeout,
                sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<PrometheusSink>();
        services.AddSingleton(sp => new AppliedBatches<PrometheusSink>(sp.GetRequiredService<IOptions<ExporterOptions>>().Value.DedupWindow));
        services.AddSingleton<IMetricsSource>(sp => new FlowExposition(
            sp.GetRequiredService<FlowSeriesStore>(),
            sp.GetRequiredService<IOptions<ExporterOptions>>().Value.Prometheus.StaticLabels));
        services.AddHostedService(sp => new SeriesExpiry(
            sp.GetRequiredService<FlowSeriesStore>(),
            sp.GetRequiredService<IOptions<ExporterOptions>>().Value.Prometheus.IdleTimeout,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SeriesExpiry>>()));
    }

    private static void AddRemoteWrite(this IServiceCollection services)
    {
        services.AddHttpClient<RemoteWriteClient>(http => http.Timeout = Timeout.InfiniteTimeSpan)
            // A redirect would carry the custom headers (credentials) to another host: it fails instead.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            // The default request logs print the URL, which may carry a ${VAR} secret.
            .RemoveAllLoggers()
            .AddResilienceHandler("remote-write", (pipeline, context) =>
            {
                var remote = context.ServiceProvider.GetRequiredService<IOptions<ExporterOptions>>().Value.RemoteWrite;
                if (remote.RetryLimit > 0)
                {
                    // The default predicate is what remote write calls retryable: 5xx, 408, 429 and transport errors.
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = remote.RetryLimit,
                        Delay = remote.RetryDelay,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                        // A receiver's Retry-After could park the pusher for minutes; the next interval pushes anyway.
                        ShouldRetryAfterHeader = false,
                        OnRetry = _ =>
                        {
                            RemoteWriteMetrics.Retries.Inc();
                            return ValueTask.CompletedTask;
                        },
                    });
                }

                pipeline.AddTimeout(remote.Timeout);
            });
        services.AddSingleton<RemoteWritePusher>();
        services.AddHostedService(sp => sp.GetRequiredService<RemoteWritePusher>());
    }
}
