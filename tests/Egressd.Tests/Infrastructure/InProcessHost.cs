using Egressd.Shared.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Egressd.Tests.Infrastructure;

/// <summary>An egressd host inside the test process, wired by the same extensions the services use.</summary>
internal sealed class InProcessHost : IAsyncDisposable
{
    private InProcessHost(WebApplication app) => App = app;

    public WebApplication App { get; }

    public IServiceProvider Services => App.Services;

    public Uri BaseAddress =>
        new(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public static async Task<InProcessHost> StartAsync(string service, Action<WebApplicationBuilder> wire, IReadOnlyDictionary<string, string?> settings)
    {
        var app = EgressdHost.Build([], service, defaultPort: 0, builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings)
            {
                ["Egressd:Http:BindAddress"] = "127.0.0.1",
                ["Egressd:Http:Port"] = settings.GetValueOrDefault("Egressd:Http:Port") ?? "0",
            });
            wire(builder);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new InProcessHost(app);
    }

    /// <summary>Waits until a collector in this host has read connection tracking <paramref name="more"/> more times.</summary>
    public async Task WaitForMoreReadsAsync(int more, TimeSpan timeout)
    {
        using var http = new HttpClient();
        var metrics = new Uri(BaseAddress, "/metrics");
        var start = CollectorReads.In(await http.GetStringAsync(metrics, TestContext.Current.CancellationToken));
        if (!await Eventually.TrueAsync(
            async () => CollectorReads.In(await http.GetStringAsync(metrics, TestContext.Current.CancellationToken)) >= start + more,
            timeout,
            TimeSpan.FromMilliseconds(50)))
        {
            throw new TimeoutException($"fewer than {more} more collector reads within {timeout}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
    }
}
