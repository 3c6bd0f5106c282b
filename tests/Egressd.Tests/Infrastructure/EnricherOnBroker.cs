using Egressd.Enricher;
using MassTransit;
using RabbitMQ.Client;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// The enricher in this process on the test broker, its bus healthy, with a queue of the test's own bound to the
/// enriched exchange that shows what it republished.
/// </summary>
internal sealed class EnricherOnBroker : IAsyncDisposable
{
    public const string EnrichedExchange = "Egressd.Contracts:FlowBatchEnriched";

    private EnricherOnBroker(InProcessHost host, IConnection connection, IChannel channel, string probe)
    {
        Host = host;
        Connection = connection;
        Channel = channel;
        Probe = probe;
    }

    public InProcessHost Host { get; }

    public IBusControl Bus => Host.Services.GetRequiredService<IBusControl>();

    public IConnection Connection { get; }

    /// <summary>A channel of the test's own on the broker, for publishing raw bodies and reading queues.</summary>
    public IChannel Channel { get; }

    /// <summary>The queue bound to the enriched exchange.</summary>
    public string Probe { get; }

    /// <param name="ready">Also wait for <c>/readyz</c>, i.e. the cluster caches synced.</param>
    public static async Task<EnricherOnBroker> StartAsync(IReadOnlyDictionary<string, string?> settings, RabbitMqBroker broker, bool ready = false)
    {
        var ct = TestContext.Current.CancellationToken;
        var host = await InProcessHost.StartAsync("egressd-enricher", b => b.AddEnricher(), settings);
        try
        {
            var bus = host.Services.GetRequiredService<IBusControl>();
            Assert.True(await Eventually.TrueAsync(() => bus.CheckHealth().Status == BusHealthStatus.Healthy, TimeSpan.FromSeconds(60)),
                "the enricher's bus never became healthy");
            if (ready)
            {
                using var http = new HttpClient();
                Assert.True(await Eventually.TrueAsync(async () => (await http.GetAsync(new Uri(host.BaseAddress, "/readyz"), ct)).IsSuccessStatusCode, TimeSpan.FromSeconds(30)),
                    "the enricher never became ready (caches synced)");
            }

            var connection = await broker.ConnectAsync();
            var channel = await connection.CreateChannelAsync(cancellationToken: ct);
            var probe = (await channel.QueueDeclareAsync(cancellationToken: ct)).QueueName;
            await channel.ExchangeDeclareAsync(EnrichedExchange, ExchangeType.Fanout, durable: true, cancellationToken: ct);
            await channel.QueueBindAsync(probe, EnrichedExchange, "", cancellationToken: ct);
            return new EnricherOnBroker(host, connection, channel, probe);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>The next batch the enricher republished, waiting for it up to 30 seconds.</summary>
    public async Task<BasicGetResult> NextEnrichedAsync()
    {
        BasicGetResult? result = null;
        Assert.True(await Eventually.TrueAsync(async () => (result = await Channel.BasicGetAsync(Probe, autoAck: true)) is not null, TimeSpan.FromSeconds(30)),
            "no enriched batch came out");
        return result!;
    }

    public async ValueTask DisposeAsync()
    {
        await Channel.DisposeAsync();
        await Connection.DisposeAsync();
        await Host.DisposeAsync();
    }
}
