using Egressd.Contracts;
using Egressd.Shared.Bus;
using MassTransit;
using Microsoft.Extensions.Options;
using RabbitMQ.Client.Exceptions;

namespace Egressd.Exporter.Sinks.Prometheus.Sharding;

/// <summary>
/// Holds this replica's share of the Prometheus sink's shards: every heartbeat interval it tells
/// the other replicas it is alive, works out the split among the replicas it has heard from, and
/// starts or stops consuming shard queues to match. A replica killed outright stops sending; after
/// <see cref="PrometheusOptions.ShardTakeover"/> the others split its shards among themselves.
/// <para>Replicas may briefly disagree about the split (one has heard of a newcomer, another not
/// yet). That never counts a batch twice: each shard queue has a single active consumer, so while
/// two replicas consume one shard, one of them only stands by. At worst a shard waits a heartbeat
/// with no consumer, its batches kept in the queue.</para>
/// </summary>
internal sealed partial class ShardCoordinator(
    ShardMembership membership,
    IBus bus,
    IReceiveEndpointConnector connector,
    IOptions<PrometheusOptions> options,
    IOptions<BusOptions> busOptions,
    TimeProvider time,
    ILogger<ShardCoordinator> logger,
    ShardingMetrics metrics) : BackgroundService
{
    /// <summary>The longest one probe of the broker's exchange types may take before it is tried again.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(15);

    private readonly Dictionary<int, HostReceiveEndpointHandle> held = [];
    private readonly List<string> gone = [];
    private int lastReplicas;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var interval = settings.ShardTakeover / 4;
        LogStarting(logger, membership.Self, settings.Shards, settings.ShardTakeover);
        await RequireHashExchangeAsync(interval, stoppingToken);
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                // Bounded: a publish the client never confirms would otherwise stop the heartbeats and the rebalancing with them.
                using var beat = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                beat.CancelAfter(interval);
                await bus.Publish(new ShardHeartbeat(membership.Self, settings.Shards), beat.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The broker is away: the others stop hearing this replica, as they should.
                LogHeartbeatFailed(logger, e.Message);
            }

            await RebalanceAsync(settings, stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>
    /// Stops the exporter with one line when the broker lacks the consistent-hash exchange: declaring
    /// it on the bus's connection would get that connection closed, over and over, in silence.
    /// </summary>
    private async Task RequireHashExchangeAsync(TimeSpan retry, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                // Bounded as a whole, its connection's close included: a probe that never answers
                // would otherwise keep this replica from ever taking a shard or sending a heartbeat.
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                attempt.CancelAfter(ProbeTimeout);
                if (await BrokerProbe.KnowsExchangeTypeAsync(busOptions.Value.RabbitMq, PrometheusShards.ExchangeType, logger, attempt.Token)
                    .WaitAsync(ProbeTimeout, time, stoppingToken))
                {
                    return;
                }

                throw new InvalidOperationException(
                    $"{PrometheusOptions.Section}:Shards={options.Value.Shards} needs the broker's consistent-hash exchange, which it lacks: run 'rabbitmq-plugins enable rabbitmq_consistent_hash_exchange' on the broker, or set Shards to 1");
            }
            catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or IOException or TimeoutException
                || (e is OperationCanceledException && !stoppingToken.IsCancellationRequested))
            {
                // The broker is not there yet; the bus waits for it too.
                LogProbeWaiting(logger, e.GetBaseException().Message);
                await Task.Delay(retry, time, stoppingToken);
            }
        }
    }

    private async Task RebalanceAsync(PrometheusOptions settings, CancellationToken stoppingToken)
    {
        gone.Clear();
        var replicas = membership.Live(gone);
        foreach (var replica in gone)
        {
            LogReplicaGone(logger, replica, settings.ShardTakeover);
        }

        var owned = PrometheusShards.Owned(membership.Self, settings.Shards, replicas);
        foreach (var shard in held.Keys.Except(owned).ToList())
        {
            // Stopping waits for the batch in hand, so nothing is left half counted here.
            await held[shard].StopAsync(stoppingToken);
            held.Remove(shard);
            LogReleased(logger, shard, replicas.Count);
        }

        foreach (var shard in owned.Where(s => !held.ContainsKey(s)))
        {
            var queue = PrometheusShards.Queue(shard);
            held[shard] = connector.ConnectReceiveEndpoint(queue, (context, endpoint) => ConfigureShard(queue, context, endpoint));
            LogTaken(logger, shard, replicas.Count);
        }

        if (replicas.Count != lastReplicas)
        {
            lastReplicas = replicas.Count;
            var list = string.Join(",", owned);
            LogSplit(logger, replicas.Count, list);
        }

        metrics.Replicas.Set(replicas.Count);
        metrics.ShardsHeld.Set(held.Count);
    }

    private static void ConfigureShard(string queue, IBusRegistrationContext context, IReceiveEndpointConfigurator endpoint)
    {
        // Connected while the bus runs, so the bus's configure-endpoints callbacks do not reach it
        // by themselves: the same wiring as every other durable queue (quorum, delivery limit, _dead).
        context.GetConfigureReceiveEndpoints().Configure(queue, endpoint);
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SingleActiveConsumer = true;
            // Not bound to the batches' exchange directly: only through the hash exchange, which
            // gives each batch to exactly one shard.
            rabbit.ConfigureConsumeTopology = false;
            var batches = context.GetRequiredService<IBus>().Topology.Message<FlowBatchEnriched>().EntityName;
            rabbit.Bind(PrometheusShards.Exchange, hash =>
            {
                hash.ExchangeType = PrometheusShards.ExchangeType;
                // The consistent-hash exchange reads a binding's routing key as its weight: every shard one.
                hash.RoutingKey = "1";
                // Declared as every publisher declares it (a nested binding would take the hash type).
                hash.Bind(batches, e => e.ExchangeType = RabbitMQ.Client.ExchangeType.Fanout);
            });
        }

        context.GetServices<SinkQueue>().Single(q => q.Sink == PrometheusSink.Name).Configure(endpoint);
    }

    [LoggerMessage(EventId = 3501, Level = LogLevel.Information,
        Message = "Prometheus sink sharded: replica {Replica}, {Shards} shards, a silent replica's shards move after {Takeover}")]
    private static partial void LogStarting(ILogger logger, string replica, int shards, TimeSpan takeover);

    [LoggerMessage(EventId = 3502, Level = LogLevel.Warning,
        Message = "Exporter replica {Replica} has not been heard from for {Takeover}; its Prometheus shards move to the replicas left")]
    private static partial void LogReplicaGone(ILogger logger, string replica, TimeSpan takeover);

    [LoggerMessage(EventId = 3504, Level = LogLevel.Information, Message = "Took Prometheus shard {Shard} ({Replicas} replicas)")]
    private static partial void LogTaken(ILogger logger, int shard, int replicas);

    [LoggerMessage(EventId = 3505, Level = LogLevel.Information, Message = "Released Prometheus shard {Shard} ({Replicas} replicas)")]
    private static partial void LogReleased(ILogger logger, int shard, int replicas);

    [LoggerMessage(EventId = 3506, Level = LogLevel.Information, Message = "Prometheus shards split over {Replicas} replicas; this one holds {Shards}")]
    private static partial void LogSplit(ILogger logger, int replicas, string shards);

    [LoggerMessage(EventId = 3509, Level = LogLevel.Warning, Message = "Cannot ask the broker about its exchange types yet: {Reason}")]
    private static partial void LogProbeWaiting(ILogger logger, string reason);

    [LoggerMessage(EventId = 3507, Level = LogLevel.Warning, Message = "Could not send the shard heartbeat: {Reason}")]
    private static partial void LogHeartbeatFailed(ILogger logger, string reason);
}
