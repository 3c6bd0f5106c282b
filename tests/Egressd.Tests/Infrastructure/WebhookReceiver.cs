using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// A webhook receiver on loopback (real Kestrel) whose answers a test scripts. It records every
/// request, and applies each accepted one once by its <c>Idempotency-Key</c>, as a careful
/// receiver would.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<Request> requests = new();
    private readonly ConcurrentDictionary<string, Request> applied = new(StringComparer.Ordinal);

    private WebhookReceiver(WebApplication app) => this.app = app;

    /// <summary>Decides the answer to each request: status, Retry-After (seconds) and a delay before answering.</summary>
    public Func<Request, Answer> Script { get; set; } = _ => new Answer(200);

    public IReadOnlyCollection<Request> Requests => requests;

    /// <summary>Accepted requests, one per idempotency key (the first).</summary>
    public IReadOnlyDictionary<string, Request> Applied => applied;

    /// <summary>Accepted requests whose key had been applied before.</summary>
    public int RepeatedKeys { get; private set; }

    public Uri BaseAddress => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.Map("/{**path}", async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var raw = body.ToArray();
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var decoded = headers.GetValueOrDefault("Content-Encoding") == "gzip" ? Gunzip(raw) : raw;
            var request = new Request(DateTimeOffset.UtcNow, context.Request.Method, context.Request.Path + context.Request.QueryString, headers, raw, decoded);
            receiver.requests.Enqueue(request);
            var answer = receiver.Script(request);
            if (answer.Delay > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(answer.Delay, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            if (answer.Status is >= 200 and < 300)
            {
                var key = headers.GetValueOrDefault("Idempotency-Key") ?? "";
                if (!receiver.applied.TryAdd(key, request))
                {
                    receiver.RepeatedKeys++;
                }
            }

            context.Response.StatusCode = answer.Status;
            if (answer.RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (answer.Location is { } location)
            {
                context.Response.Headers.Location = location;
            }

            if (answer.Body is { } text)
            {
                await context.Response.WriteAsync(text);
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

    private static byte[] Gunzip(byte[] raw)
    {
        using var zip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
        using var output = new MemoryStream();
        zip.CopyTo(output);
        return output.ToArray();
    }

    public sealed record Request(DateTimeOffset At, string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Raw, byte[] Body)
    {
        public string Key => Headers.GetValueOrDefault("Idempotency-Key") ?? "";
    }

    public sealed record Answer(int Status, int? RetryAfterSeconds = null, TimeSpan Delay = default, string? Body = null, string? Location = null);
}
