using System.Collections.Concurrent;
using Egressd.Exporter;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Exporter.Sinks.Prometheus.RemoteWrite;
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
        // A plain socket, not Kestrel: Kestrel completes writes to a closed connection silently,
        // while a socket write blocks while the client does not read and fails once it hangs up.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        const long Body = 64 * 1024 * 1024;
        var served = ServeHugeErrorAsync(listener, Body, ct);
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
            ["Egressd:Exporter:RemoteWrite:Url"] = $"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}/api/v1/write",
            ["Egressd:Exporter:RemoteWrite:Interval"] = "01:00:00",
        });
        exporter.Services.GetRequiredService<FlowSeriesStore>().Apply([PodFlow("shop", "web-1", "db", "db-0", txBytes: 100)]);

        Assert.False(await exporter.Services.GetRequiredService<RemoteWritePusher>().PushAsync(ct));

        var line = Assert.Single(logs.Lines, l => l.Contains("[3201]", StringComparison.Ordinal));
        Assert.Contains("answered 400: error error", line, StringComparison.Ordinal);
        // The exporter hung up after the first few KiB (plus what its connection drains on
        // close and the kernel's socket buffers): the receiver never got to send it all.
        var taken = await served.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.True(taken < Body / 2, $"{taken} bytes of the error body were taken");
    }

    /// <summary>Answers one request with a 400 and a body of <paramref name="length"/> bytes; returns how many were sent before the client hung up.</summary>
    private static async Task<long> ServeHugeErrorAsync(System.Net.Sockets.TcpListener listener, long length, CancellationToken ct)
    {
        using var client = await listener.AcceptTcpClientAsync(ct);
        var stream = client.GetStream();
        var request = new byte[64 * 1024];
        var seen = new List<byte>();
        while (seen.Count < 4 || !seen.TakeLast(4).SequenceEqual("\r\n\r\n"u8.ToArray()))
        {
            var read = await stream.ReadAsync(request.AsMemory(0, 1), ct);
            if (read == 0)
            {
                return 0;
            }

            seen.Add(request[0]);
        }

        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {length}\r\n\r\n"), ct);
        var chunk = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("error ", 10_000)));
        long sent = 0;
        try
        {
            while (sent < length)
            {
                var size = (int)Math.Min(chunk.Length, length - sent);
                await stream.WriteAsync(chunk.AsMemory(0, size), ct);
                sent += size;
            }
        }
        catch (IOException)
        {
            // The client hung up.
        }

        return sent;
    }

    /// <summary>A Kestrel receiver that records each request's X-Api-Key and answers with the given status.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication app;

        private Receiver(WebApplication app) => this.app = app;

        public ConcurrentQueue<string> Requests { get; } = new();

        public Uri Url => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");

        public static async Task<Receiver> StartAsync(Func<HttpContext, int> answer)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new Receiver(app);
            app.MapPost("/api/v1/write", context =>
            {
                receiver.Requests.Enqueue(context.Request.Headers["X-Api-Key"].ToString());
                context.Response.StatusCode = answer(context);
                return Task.CompletedTask;
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
