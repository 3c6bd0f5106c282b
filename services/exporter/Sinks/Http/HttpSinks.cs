using Egressd.Shared.Network;
using Microsoft.Extensions.Options;
using Refit;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>The configured HTTP sinks, in the order of <see cref="HttpSinksOptions.HttpSinkNames"/>.</summary>
internal sealed class HttpSinks
{
    private readonly HttpSink[] sinks;

    public HttpSinks(
        IOptions<HttpSinksOptions> options,
        IOptions<NetworkOptions> network,
        IHttpClientFactory clients,
        TimeProvider time,
        ILoggerFactory loggers,
        HttpSinkMetrics metrics)
    {
        var all = options.Value;
        var publicAddresses = network.Value.PublicAddresses();
        var logger = loggers.CreateLogger<HttpSink>();
        sinks = [.. all.HttpSinkNames().Select(name =>
        {
            var settings = HttpSinkSettings.Resolve(name, all.Sinks[name].Http!, all.ExportInterval, [])!;
            // One client per sink for its life: its handler rotates connections itself (PooledConnectionLifetime).
            var api = RestService.For<IWebhookApi>(clients.CreateClient(ClientName(name)));
            return new HttpSink(
                settings,
                new HttpSinkEncoder(settings.Encoding, settings.Gzip, publicAddresses),
                new HttpSinkClient(settings, api, metrics),
                time,
                logger,
                metrics);
        })];
    }

    public HttpSink this[int index] => sinks[index];

    public IReadOnlyList<HttpSink> All => sinks;

    public static string ClientName(string sink) => $"egressd-http-sink-{sink}";
}
