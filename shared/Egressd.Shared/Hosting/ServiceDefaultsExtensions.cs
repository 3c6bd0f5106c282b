using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Egressd.Shared.Hosting;

public static class ServiceDefaultsExtensions
{
    /// <summary>Health tag of checks that must pass before the service takes traffic.</summary>
    public const string ReadyTag = "ready";

    private static readonly Lock DefaultMetricsGate = new();
    private static bool defaultMetricsTrimmed;

    /// <summary>
    /// JSON console logs, health checks, self-metrics and the HTTP listener every egressd service
    /// has. <paramref name="defaultPort"/> is the service's port unless <c>Egressd:Http:Port</c> says otherwise.
    /// </summary>
    public static WebApplicationBuilder AddEgressdDefaults(this WebApplicationBuilder builder, string serviceName, int defaultPort)
    {
        TrimDefaultMetrics();

        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o =>
        {
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.IncludeScopes = false;
            // Keep generic type names (MassTransit's, with their angle brackets) readable at 3 a.m.
            o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        });
        // MassTransit and ASP.NET are chatty at Information; their warnings still show.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Information);
        // An unready /readyz is an answer, not an error: MassTransit already logs why the bus is down.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Critical);

        builder.Services.AddOptions<HttpOptions>()
            .Configure(o => o.Port = defaultPort)
            .BindConfiguration(HttpOptions.Section)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<HttpOptions>, HttpOptionsValidator>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var http = kestrel.ApplicationServices.GetRequiredService<IOptions<HttpOptions>>().Value;
            var address = IPAddress.Parse(http.BindAddress);
            if (address.Equals(IPAddress.Any))
            {
                kestrel.ListenAnyIP(http.Port);
            }
            else
            {
                kestrel.Listen(address, http.Port);
            }
        });

        builder.Services.AddHealthChecks();
        builder.Services.AddEgressdMetricsRegistry();
        // In-flight work gets this long after SIGTERM; unacknowledged messages are redelivered.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(25));
        return builder;
    }

    /// <summary>
    /// prometheus-net also republishes .NET's event counters and its System.Runtime meter, under
    /// names that break Prometheus' naming rules (gauges ending in _count and _total, which
    /// promtool rejects) and that repeat its own dotnet_* and process_* metrics, and the runtime's
    /// "Private." diagnostics meters (msquic internals nobody asked for). Once per process,
    /// before the registry is first used; later calls change nothing.
    /// </summary>
    private static void TrimDefaultMetrics()
    {
        lock (DefaultMetricsGate)
        {
            if (defaultMetricsTrimmed)
            {
                return;
            }

            defaultMetricsTrimmed = true;
            Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = i => i.Meter.Name != "System.Runtime" && !i.Meter.Name.StartsWith("Private.", StringComparison.Ordinal));
            Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
            {
                SuppressProcessMetrics = false,
                SuppressDebugMetrics = false,
                SuppressEventCounters = true,
                SuppressMeters = false,
            });
        }
    }

    /// <summary>
    /// /healthz (the process answers), /readyz (every check tagged ready passes), /metrics (the
    /// host's own registry, prometheus-net's process-wide one, then every <see cref="IMetricsSource"/>).
    /// Every declared metrics class is created here, before the first scrape. One handler for the
    /// three paths rather than routing: building the routing matcher at the first request raised the
    /// collector's peak memory for three fixed paths. Health answers as ASP.NET Core's health
    /// check middleware does: the status as text, 503 when unhealthy, never cached.
    /// </summary>
    public static WebApplication MapEgressdEndpoints(this WebApplication app)
    {
        var health = app.Services.GetRequiredService<HealthCheckService>();
        var registry = app.Services.GetRequiredService<CollectorRegistry>();
        var sources = app.Services.GetServices<IMetricsSource>().ToArray();
        _ = app.Services.GetServices<MetricsDeclaration>().ToList();
        // As routing matched them before: in any case, with or without a trailing slash.
        app.Run(context => (context.Request.Path.Value ?? "").TrimEnd('/').ToLowerInvariant() switch
        {
            "/healthz" => WriteHealthAsync(context, health, _ => false),
            "/readyz" => WriteHealthAsync(context, health, c => c.Tags.Contains(ReadyTag)),
            "/metrics" when HttpMethods.IsGet(context.Request.Method) => WriteMetricsAsync(context, registry, sources),
            "/metrics" => MethodNotAllowed(context),
            _ => NotFound(context),
        });
        return app;
    }

    private static async Task WriteHealthAsync(HttpContext context, HealthCheckService health, Func<HealthCheckRegistration, bool> predicate)
    {
        var report = await health.CheckHealthAsync(predicate, context.RequestAborted);
        context.Response.StatusCode = report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        context.Response.Headers.CacheControl = "no-store, no-cache";
        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(report.Status.ToString(), context.RequestAborted);
    }

    private static async Task WriteMetricsAsync(HttpContext context, CollectorRegistry registry, IMetricsSource[] sources)
    {
        var cancellationToken = context.RequestAborted;
        // Always the classic text format: OpenMetrics, which prometheus-net offers to a scraper
        // that asks for it, ends with "# EOF", after which nothing may be appended.
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await registry.CollectAndExportAsTextAsync(context.Response.Body, ExpositionFormat.PrometheusText, cancellationToken);
        // The process's own: CPU, memory, GC, and the runtime's and ASP.NET Core's meters.
        await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(context.Response.Body, ExpositionFormat.PrometheusText, cancellationToken);
        foreach (var source in sources)
        {
            // The pipe, not the stream: a source renders into the response's own buffers.
            await source.WriteAsync(context.Response.BodyWriter, cancellationToken);
        }
    }

    private static Task MethodNotAllowed(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
        context.Response.Headers.Allow = "GET";
        return Task.CompletedTask;
    }

    private static Task NotFound(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }
}
