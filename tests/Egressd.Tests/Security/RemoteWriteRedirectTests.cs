using System.Collections.Concurrent;
using Egressd.Exporter;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Exporter.Sinks.RemoteWrite;
using Egressd.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Security;

/// <summary>Remote write never carries its custom headers (credentials) to a host a redirect names.</summary>
public sealed class RemoteWriteRedirectTests
{
    [Fact]
    public async Task A_redirect_to_another_port_is_not_followed_and_fails_the_push_with_one_line()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = "key-" + Guid.NewGuid().ToString("N");
        await using var elsewhere = await Receiver.StartAsync(_ => 204);
        await using var receiver = await Receiver.StartAsync(context =>
        {
            context.Response.Headers.Location = new Uri(elsewhere.Url, "api/v1/write").ToString();
            return 307;
        });
        var logs = new CapturedLogs();
        await using var exporter = await InProcessHost.StartAsync("egressd-exporter", b =>
        {
            b.AddExporter();
            b.Logging.AddProvider(logs);
        }, new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "inmemory",
            ["Egressd:Exporter:FlowLog:Enabled"] = "false",
            ["Egressd:Exporter:RemoteWrite:Enabled"] = "true",
            ["Egressd:Exporter:RemoteWrite:Url"] = $"{receiver.Url}api/v1/write",
            ["Egressd:Exporter:RemoteWrite:Headers:X-Api-Key"] = key,
            ["Egressd:Exporter:RemoteWrite:Interval"] = "01:00:00",
            ["Egressd:Exporter:RemoteWrite:RetryLimit"] = "3",
            ["Egressd:Exporter:RemoteWrite:RetryDelay"] = "00:00:00.050",
        });
        exporter.Services.GetRequiredService<FlowSeriesStore>().Apply([PodFlow("shop", "web-1", "db", "db-0", txBytes: 100)]);
        var failures = RemoteWriteMetrics.Failures.Value;

        Assert.False(await exporter.Services.GetRequiredService<RemoteWritePusher>().PushAsync(ct));

        // Asked once (a redirect is not retried), and nothing reached the other port.
        Assert.Equal(key, Assert.Single(receiver.Requests));
        Assert.Empty(elsewhere.Requests);
        Assert.Equal(failures + 1, RemoteWriteMetrics.Failures.Value);
        var line = Assert.Single(logs.Lines, l => l.Contains("[3201]", StringComparison.Ordinal));
        Assert.Contains("307", line, StringComparison.Ordinal);
        Assert.Contains($"redirect to http://127.0.0.1:{elsewhere.Url.Port}, which is not followed", line, StringComparison.Ordinal);
        Assert.DoesNotContain(key, logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_body_is_read_only_as_far_as_the_log_line_needs()
    {
        var ct = TestContext.Current.CancellationToken;
        // 64 MiB of error text: read whole, it cost the exporter hundreds of MB.
        await using var receiver = await Receiver.StartAsync(_ => 400, body: 64 * 1024 * 1024);
        var logs = new CapturedLogs();
        await using var exporter = await InProcessHost.StartAsync("egressd-exporter", b =>
        {
            b.AddExporter();
            b.Logging.AddProvider(logs);
        }, new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "inmemory",
            ["Egressd:Exporter:FlowLog:Enabled"] = "false",
            ["Egressd:Exporter:RemoteWrite:Enabled"] = "true",
            ["Egressd:Exporter:RemoteWrite:Url"] = $"{receiver.Url}api/v1/write",
            ["Egressd:Exporter:RemoteWrite:Interval"] = "01:00:00",
        });
        exporter.Services.GetRequiredService<FlowSeriesStore>().Apply([PodFlow("shop", "web-1", "db", "db-0", txBytes: 100)]);

        Assert.False(await exporter.Services.GetRequiredService<RemoteWritePusher>().PushAsync(ct));

        var line = Assert.Single(logs.Lines, l => l.Contains("[3201]", StringComparison.Ordinal));
        Assert.Contains("answered 400: error error", line, StringComparison.Ordinal);
        // The receiver stopped being read after the first few KiB: it never got to write it all.
        Assert.True(await Eventually.TrueAsync(() => receiver.BodyWriteEnded, TimeSpan.FromSeconds(30)));
        Assert.True(receiver.BodyBytesWritten < 32 * 1024 * 1024, $"{receiver.BodyBytesWritten} bytes of the error body were taken");
    }

    /// <summary>A Kestrel receiver that records each request's X-Api-Key and answers with the given status.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication app;

        private Receiver(WebApplication app) => this.app = app;

        public ConcurrentQueue<string> Requests { get; } = new();

        public long BodyBytesWritten;

        public bool BodyWriteEnded;

        public Uri Url => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");

        public static async Task<Receiver> StartAsync(Func<HttpContext, int> answer, int body = 0)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new Receiver(app);
            app.MapPost("/api/v1/write", async context =>
            {
                receiver.Requests.Enqueue(context.Request.Headers["X-Api-Key"].ToString());
                context.Response.StatusCode = answer(context);
                var chunk = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("error ", 10_000)));
                try
                {
                    while (receiver.BodyBytesWritten < body)
                    {
                        await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                        Interlocked.Add(ref receiver.BodyBytesWritten, chunk.Length);
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException)
                {
                    // The client hung up: it had read what it wanted.
                }
                finally
                {
                    receiver.BodyWriteEnded = true;
                }
            });
            await app.StartAsync(TestContext.Current.CancellationToken);
            return receiver;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }
}
