using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Exporter.Sinks.Prometheus.RemoteWrite;
using Egressd.Tests.Infrastructure;
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
        await using var elsewhere = await WebhookReceiver.StartAsync();
        elsewhere.Script = _ => new(204);
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Script = _ => new(307, Location: new Uri(elsewhere.BaseAddress, "api/v1/write").ToString());
        var logs = new CapturedLogs();
        await using var exporter = await InMemoryExporter.StartWithRemoteWriteAsync($"{receiver.BaseAddress}api/v1/write", logs, new Dictionary<string, string?>
        {
            ["Egressd:Exporter:RemoteWrite:Headers:X-Api-Key"] = key,
            ["Egressd:Exporter:RemoteWrite:RetryLimit"] = "3",
            ["Egressd:Exporter:RemoteWrite:RetryDelay"] = "00:00:00.050",
        });
        exporter.Services.GetRequiredService<FlowSeriesStore>().Apply([PodFlow("shop", "web-1", "db", "db-0", txBytes: 100)]);
        var metrics = exporter.Services.GetRequiredService<RemoteWriteMetrics>();

        Assert.False(await exporter.Services.GetRequiredService<RemoteWritePusher>().PushAsync(ct));

        // Asked once (a redirect is not retried), and nothing reached the other port.
        Assert.Equal(key, Assert.Single(receiver.Requests).Headers["X-Api-Key"]);
        Assert.Empty(elsewhere.Requests);
        Assert.Equal(1, metrics.Failures.Value);
        Assert.Equal(0, metrics.Retries.Value);
        var line = Assert.Single(logs.Lines, l => l.Contains("[3201]", StringComparison.Ordinal));
        Assert.Contains("307", line, StringComparison.Ordinal);
        Assert.Contains($"redirect to http://127.0.0.1:{elsewhere.BaseAddress.Port}, which is not followed", line, StringComparison.Ordinal);
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
        await using var exporter = await InMemoryExporter.StartWithRemoteWriteAsync($"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}/api/v1/write", logs);
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
}
