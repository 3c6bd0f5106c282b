using Egressd.Shared.Network;
using Microsoft.Extensions.Options;
using Refit;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>The configured HTTP sinks, in slot order (see <see cref="IHttpSinkSlot"/>).</summary>
internal sealed class HttpSinks
{
    private readonly HttpSink[] sinks;

    public HttpSinks(
        IOptions<HttpSinksOptions> options,
        IOptions<NetworkOptions> network,
        IOptions<ExporterOptions> exporter,
        IHttpClientFactory clients,
        TimeProvider time,
        ILoggerFactory loggers,
        HttpSinkMetrics metrics)
    {
        var all = options.Value;
        var privateNetworks = network.Value.PrivateNetworks();
        var logger = loggers.CreateLogger<HttpSink>();
        sinks = [.. all.HttpSinkNames().Select(name =>
        {
            var settings = HttpSinkSettings.Resolve(name, all.Sinks[name].Http!, all.ExportInterval, [])!;
            // One client per sink for its life: its handler rotates connections itself (PooledConnectionLifetime).
            var api = RestService.For<IWebhookApi>(clients.CreateClient(ClientName(name)));
            return new HttpSink(
                settings,
                new HttpSinkEncoder(settings.Encoding, settings.Gzip, privateNetworks),
                new HttpSinkClient(settings, api, metrics),
                exporter.Value.DedupWindow,
                time,
                logger,
                metrics);
        })];
    }

    public HttpSink this[int index] => sinks[index];

    public IReadOnlyList<HttpSink> All => sinks;

    public static string ClientName(string sink) => $"egressd-http-sink-{sink}";
}
