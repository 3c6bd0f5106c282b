using Egressd.Exporter.Sinks.Prometheus.Cost;
using Egressd.Exporter.Sinks.Prometheus.RemoteWrite;
using Egressd.Exporter.Sinks.Prometheus.Sharding;
using Egressd.Shared.Bus;
using Egressd.Shared.Hosting;
using Egressd.Shared.Network;
using MassTransit;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Egressd.Exporter.Sinks.Prometheus;

internal static class PrometheusHostingExtensions
{
    /// <summary>
    /// With shards, the sink is fed from the shard queues this replica holds, which
    /// <see cref="ShardCoordinator"/> connects and lets go; without, from its own queue (<see cref="PrometheusSink.Queue"/>).
    /// </summary>
    public static void AddPrometheusShards(this IBusRegistrationConfigurator bus, IConfiguration configuration)
    {
        var settings = configuration.PrometheusSettings();
        if (!settings.Enabled || settings.Shards <= 1)
        {
            return;
        }

        // Unique per process: a restarted replica is a new one, and the old name simply goes silent.
        var replica = $"{Environment.MachineName}-{Guid.NewGuid().ToString("N")[..8]}";
        bus.AddConsumer<ShardHeartbeatConsumer>().Endpoint(e =>
        {
            // Every replica hears every heartbeat on a queue of its own that goes when it goes.
            e.Name = BusEndpoints.TemporaryPrefix + "exporter-" + replica;
            e.Temporary = true;
        });
        bus.AddSingleton(sp => new ShardMembership(replica, sp.GetRequiredService<IOptions<PrometheusOptions>>().Value.ShardTakeover, sp.GetRequiredService<TimeProvider>()));
        bus.AddMetrics<ShardingMetrics>();
        bus.AddHostedService<ShardCoordinator>();
    }

    /// <summary>The sink, its store, its part of <c>/metrics</c>, series expiry and, when enabled, remote write.</summary>
    public static void AddPrometheusSink(this IServiceCollection services, IConfiguration configuration)
    {
        // Checked even when off, so remote write turned on without the sink it reads is an error, not a no-op.
        services.AddOptions<PrometheusOptions>().BindConfiguration(PrometheusOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PrometheusOptions>, PrometheusOptionsValidator>();
        services.AddOptions<RemoteWriteOptions>().BindConfiguration(RemoteWriteOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RemoteWriteOptions>, RemoteWriteOptionsValidator>();
        if (!configuration.PrometheusSettings().Enabled)
        {
            return;
        }

        services.AddMetrics<PrometheusSinkMetrics>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PrometheusOptions>>().Value;
            return new FlowSeriesStore(
                options.ResolveLabels(),
                new FlowLabelContext(sp.GetRequiredService<IOptions<NetworkOptions>>().Value.PublicAddresses()),
                options.MaxSeries,
                options.IdleTimeout,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<PrometheusSinkMetrics>());
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PrometheusOptions>>().Value;
            return new CostSeriesStore(
                CostLabels.Resolve(options),
                new FlowLabelContext(sp.GetRequiredService<IOptions<NetworkOptions>>().Value.PublicAddresses()),
                options.MaxSeries,
                options.IdleTimeout,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<PrometheusSinkMetrics>());
        });
        services.AddSingleton<PrometheusSink>();
        services.AddSingleton(sp => new SinkQueue
        {
            Sink = PrometheusSink.Name,
            Queue = PrometheusSink.Queue,
            Consumer = FlowSinkConsumer.For(sp, PrometheusSink.Name, sp.GetRequiredService<PrometheusSink>()),
            SingleActiveConsumer = true,
            // Batches are applied one at a time under the store's lock: one applied, the next decoded.
            // More at once only holds more decoded batches in memory waiting for the lock, which under
            // load drove the exporter into frequent full collections.
            ConcurrentBatches = 2,
            OnShardQueues = sp.GetRequiredService<IOptions<PrometheusOptions>>().Value.Shards > 1,
        });
        services.AddSingleton<IMetricsSource>(sp => new FlowExposition(
            sp.GetRequiredService<FlowSeriesStore>(),
            sp.GetRequiredService<IOptions<PrometheusOptions>>().Value.StaticLabels));
        services.AddSingleton<IMetricsSource>(sp => new CostExposition(
            sp.GetRequiredService<CostSeriesStore>(),
            sp.GetRequiredService<IOptions<PrometheusOptions>>().Value.StaticLabels));
        services.AddHostedService(sp => new SeriesExpiry(
            sp.GetRequiredService<FlowSeriesStore>(),
            sp.GetRequiredService<IOptions<PrometheusOptions>>().Value.IdleTimeout,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SeriesExpiry>>(),
            sp.GetRequiredService<PrometheusSinkMetrics>()));
        if (configuration.RemoteWriteSettings().Enabled)
        {
            services.AddRemoteWrite();
        }
    }

    private static void AddRemoteWrite(this IServiceCollection services)
    {
        services.AddMetrics<RemoteWriteMetrics>();
        services.AddHttpClient<RemoteWriteClient>(http => http.Timeout = Timeout.InfiniteTimeSpan)
            // A redirect would carry the custom headers (credentials) to another host: it fails instead.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            // The default request logs print the URL, which may carry a ${VAR} secret.
            .RemoveAllLoggers()
            .AddResilienceHandler("remote-write", (pipeline, context) =>
            {
                var remote = context.ServiceProvider.GetRequiredService<IOptions<RemoteWriteOptions>>().Value;
                var metrics = context.ServiceProvider.GetRequiredService<RemoteWriteMetrics>();
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
                            metrics.Retries.Inc();
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
