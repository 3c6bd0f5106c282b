using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Egressd.Shared.Hosting;

public static class ServiceDefaultsExtensions
{
    /// <summary>Health tag of checks that must pass before the service takes traffic.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// JSON console logs, health checks, self-metrics and the HTTP listener every egressd service
    /// has. <paramref name="defaultPort"/> is the service's port unless <c>Egressd:Http:Port</c> says otherwise.
    /// </summary>
    public static WebApplicationBuilder AddEgressdDefaults(this WebApplicationBuilder builder, string serviceName, int defaultPort)
    {
        builder.Services.AddSingleton(new EgressdService(serviceName));

        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o =>
        {
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.IncludeScopes = false;
            // Keep type names like FlowSinkConsumer<FlowLogSink> readable at 3 a.m.
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
        // In-flight work gets this long after SIGTERM; unacknowledged messages are redelivered.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(25));
        return builder;
    }

    /// <summary>/healthz (the process answers), /readyz (every check tagged ready passes), /metrics.</summary>
    public static WebApplication MapEgressdEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag) });
        app.MapMetrics("/metrics");
        return app;
    }
}
