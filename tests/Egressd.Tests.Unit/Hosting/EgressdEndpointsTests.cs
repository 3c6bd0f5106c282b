using System.IO.Pipelines;
using System.Net;
using System.Text;
using Egressd.Shared.Hosting;
using Egressd.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Egressd.Tests.Hosting;

/// <summary>What every service answers over HTTP, and the settings its host reads.</summary>
public sealed class EgressdEndpointsTests
{
    [Fact]
    public async Task Health_readiness_and_metrics_answer_and_other_requests_are_refused()
    {
        await using var host = await InProcessHost.StartAsync("egressd-test", builder =>
        {
            builder.Services.AddHealthChecks().AddCheck("broker", () => HealthCheckResult.Unhealthy("not connected"), [ServiceDefaultsExtensions.ReadyTag]);
            builder.Services.AddSingleton<IMetricsSource, OneFamily>();
        }, new Dictionary<string, string?>());
        using var http = new HttpClient { BaseAddress = host.BaseAddress };
        var ct = TestContext.Current.CancellationToken;

        // Alive whatever the checks say; not ready while a ready check fails.
        using var healthz = await http.GetAsync(new Uri("/healthz", UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        Assert.Equal("Healthy", await healthz.Content.ReadAsStringAsync(ct));
        Assert.True(healthz.Headers.CacheControl is { NoStore: true, NoCache: true });
        using var readyz = await http.GetAsync(new Uri("/readyz", UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyz.StatusCode);
        Assert.Equal("Unhealthy", await readyz.Content.ReadAsStringAsync(ct));

        // prometheus-net's registry, then the service's own families, in the classic text format.
        using var metrics = await http.GetAsync(new Uri("/metrics", UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", metrics.Content.Headers.ContentType?.ToString());
        var text = await metrics.Content.ReadAsStringAsync(ct);
        Assert.Contains("\nprocess_start_time_seconds ", text, StringComparison.Ordinal);
        Assert.EndsWith(OneFamily.Text, text, StringComparison.Ordinal);

        using var post = await http.PostAsync(new Uri("/metrics", UriKind.Relative), new StringContent(""), ct);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal("GET", string.Join(",", post.Content.Headers.Allow));
        using var other = await http.GetAsync(new Uri("/metrics/more", UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);

        // Paths as routing matched them: in any case, a trailing slash allowed.
        using var upper = await http.GetAsync(new Uri("/HealthZ/", UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.OK, upper.StatusCode);
    }

    [Fact]
    public async Task Settings_come_from_the_command_line_and_log_levels_from_Logging()
    {
        await using var app = EgressdHost.Build(
            ["--Egressd:Http:Port=0", "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Egressd.Chatty=Debug"],
            "egressd-test",
            defaultPort: 6061,
            _ => { });

        Assert.Equal(0, app.Services.GetRequiredService<IOptions<HttpOptions>>().Value.Port);
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        Assert.False(loggers.CreateLogger("Egressd.Quiet").IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("Egressd.Quiet").IsEnabled(LogLevel.Warning));
        Assert.True(loggers.CreateLogger("Egressd.Chatty").IsEnabled(LogLevel.Debug));
    }

    private sealed class OneFamily : IMetricsSource
    {
        public const string Text = "# HELP egressd_test_things Things.\n# TYPE egressd_test_things gauge\negressd_test_things 3\n";

        public async Task WriteAsync(PipeWriter output, CancellationToken cancellationToken) =>
            await output.WriteAsync(Encoding.UTF8.GetBytes(Text), cancellationToken);
    }
}
