using System.Diagnostics;
using Egressd.Contracts;
using Egressd.Enricher;
using Egressd.Enricher.Cluster;
using Egressd.Enricher.Enrichment;
using Egressd.Shared.Bus;
using Egressd.Shared.Hosting;
using Egressd.Shared.Network;
using Egressd.Shared.Wire;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using RabbitMQ.Client;

namespace Egressd.Benchmarks;

/// <summary>
/// Enrichment throughput: the pure function on one core against a 10,000-pod, 500-node cluster,
/// and the enricher end to end through RabbitMQ next to RabbitMQ's own throughput for messages of
/// the same sizes, measured in the same run.
/// </summary>
internal static class EnricherBenchmark
{
    private const int Pods = 10_000;
    private const int Nodes = 500;
    private const int FlowsPerBatch = 5_000;
    private const int Batches = 20;

    public static async Task<int> RunAsync(string[] args)
    {
        var (state, podIps, serviceIps) = Cluster();
        var snapshot = state.Snapshot();
        var enricher = new FlowEnricher(new TrafficClassifier(new NetworkOptions().PublicAddresses(), []), 100_000, new DnsNameMap(100_000, new EnricherMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()))));
        var batches = Enumerable.Range(0, Batches).Select(i => Batch(i, podIps, serviceIps, new Random(i))).ToArray();

        // One core: a single thread, after warming up the JIT.
        var pure = Rate(i => enricher.Enrich(batches[i], snapshot, new EnrichmentStats()).Flows.Count);

        // As the enricher gets them, decoded from the wire; then its whole work on a batch, from the
        // body it receives to the body it publishes.
        var bodies = batches.Select(FlowWire.Encode).ToArray();
        var decoded = bodies.Select(b => FlowWire.DecodeCollected(b)).ToArray();
        var fromWire = Rate(i => enricher.Enrich(decoded[i], snapshot, new EnrichmentStats()).Flows.Count);
        var bodyToBody = Rate(i => FlowWire.Encode(enricher.Enrich(FlowWire.DecodeCollected(bodies[i]), snapshot, new EnrichmentStats())).Length > 0 ? FlowsPerBatch : 0);
        var collectedBytes = FlowWire.Encode(batches[0]).Length;
        var enrichedBytes = FlowWire.Encode(enricher.Enrich(batches[0], snapshot, new EnrichmentStats())).Length;

        var broker = await Broker.StartAsync();
        try
        {
            var count = Option(args, "--batches", 200);
            var rawCollected = await RawThroughputAsync(broker.Address, collectedBytes, count);
            var rawEnriched = await RawThroughputAsync(broker.Address, enrichedBytes, count);
            var pipeline = await PipelineThroughputAsync(broker.Address, state, batches, count);

            Console.WriteLine();
            Console.WriteLine($"| figure ({Pods:N0} pods, {Nodes} nodes, batches of {FlowsPerBatch:N0} flows) | value |");
            Console.WriteLine("| --- | --- |");
            Console.WriteLine($"| pure enrichment, one thread (median of 7 one-second rounds) | {pure / 1e6:F2} M flows/s |");
            Console.WriteLine($"| pure enrichment of batches as decoded from the wire, one thread | {fromWire / 1e6:F2} M flows/s |");
            Console.WriteLine($"| decode, enrich and encode, body to body, one thread | {bodyToBody / 1e6:F2} M flows/s |");
            Console.WriteLine($"| message size: collected / enriched batch (wire v2) | {collectedBytes / 1024.0:F0} KiB / {enrichedBytes / 1024.0:F0} KiB |");
            Console.WriteLine($"| RabbitMQ alone, {collectedBytes / 1024.0:F0} KiB messages (publish with confirms, consume with acks, quorum queue) | {rawCollected:F0} msg/s = {rawCollected * FlowsPerBatch / 1e6:F2} M flows/s |");
            Console.WriteLine($"| RabbitMQ alone, {enrichedBytes / 1024.0:F0} KiB messages | {rawEnriched:F0} msg/s = {rawEnriched * FlowsPerBatch / 1e6:F2} M flows/s |");
            Console.WriteLine($"| enricher end to end (publish collected → enrich → publish enriched → consume), {count} batches | {pipeline * FlowsPerBatch / 1e6:F2} M flows/s ({pipeline:F0} batches/s) |");
            Console.WriteLine($"| end to end / RabbitMQ alone at the enriched size | {pipeline / rawEnriched:F2} |");
            return 0;
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }

    private static (ClusterState State, string[] PodIps, string[] ServiceIps) Cluster()
    {
        var state = new ClusterState(TimeProvider.System, TimeSpan.FromMinutes(2));
        for (var n = 0; n < Nodes; n++)
        {
            state.UpsertNode($"node-{n}", new NodeInfo($"node-{n}", $"zone-{n % 3}", $"region-{n % 50 / 25}", [$"10.0.{n / 250}.{n % 250}"]));
        }

        var podIps = new string[Pods];
        for (var p = 0; p < Pods; p++)
        {
            podIps[p] = $"10.{64 + (p / 65536)}.{p / 256 % 256}.{p % 256}";
            state.UpsertReplicaSet($"ns-{p % 40}/app-{p % 700}-rs", new OwnerInfo($"ns-{p % 40}", $"app-{p % 700}-rs", "Deployment", $"app-{p % 700}"));
            state.UpsertPod($"ns-{p % 40}/pod-{p}", new PodInfo($"ns-{p % 40}", $"pod-{p}", $"node-{p % Nodes}", [podIps[p]], false, DateTimeOffset.UnixEpoch.AddSeconds(p), "ReplicaSet", $"app-{p % 700}-rs"));
        }

        var serviceIps = Enumerable.Range(0, 1000).Select(s => $"10.96.{s / 256}.{s % 256}").ToArray();
        for (var s = 0; s < serviceIps.Length; s++)
        {
            state.UpsertService($"ns-{s % 40}/svc-{s}", new ServiceInfo($"ns-{s % 40}", $"svc-{s}", [serviceIps[s]]));
        }

        state.Require("benchmark");
        state.MarkSynced("benchmark");
        return (state, podIps, serviceIps);
    }

    /// <summary>60 % pod to pod, 20 % through a service, 20 % to the internet (with DNS answers).</summary>
    internal static FlowBatchCollected Batch(int window, string[] podIps, string[] serviceIps, Random random)
    {
        var flows = new FlowRecord[FlowsPerBatch];
        var answers = new List<DnsAnswer>();
        for (var i = 0; i < flows.Length; i++)
        {
            var kind = random.Next(10);
            var source = podIps[random.Next(podIps.Length)];
            string destination;
            string? original = null;
            if (kind < 6)
            {
                destination = podIps[random.Next(podIps.Length)];
            }
            else if (kind < 8)
            {
                destination = podIps[random.Next(podIps.Length)];
                original = serviceIps[random.Next(serviceIps.Length)];
            }
            else
            {
                destination = $"198.18.{random.Next(256)}.{random.Next(256)}";
                answers.Add(new DnsAnswer { Ip = IpAddr.Parse(destination), Name = $"host{i}.example.com", ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5) });
            }

            flows[i] = new FlowRecord
            {
                SourceIp = IpAddr.Parse(source),
                DestinationIp = IpAddr.Parse(destination),
                OriginalDestinationIp = original is null ? null : IpAddr.Parse(original),
                Protocol = 6,
                TxBytes = (ulong)random.Next(1, 1 << 20),
                RxBytes = (ulong)random.Next(1, 1 << 20),
                TxPackets = (ulong)random.Next(1, 1000),
                RxPackets = (ulong)random.Next(1, 1000),
            };
        }

        return new FlowBatchCollected
        {
            Header = new BatchHeader
            {
                Id = new BatchId { Node = "node-0", BootId = "bench", Window = window, Part = 0, PartCount = 1 },
                Node = "node-0",
                WindowStart = DateTimeOffset.UtcNow.AddSeconds(-5),
                WindowEnd = DateTimeOffset.UtcNow,
                Source = FlowSource.Netfilter,
            },
            Flows = flows,
            DnsAnswers = answers,
        };
    }

    /// <summary>RabbitMQ alone: publish with confirms and consume with acks on one quorum queue, overlapped.</summary>
    internal static async Task<double> RawThroughputAsync(Uri address, int size, int count)
    {
        var factory = new ConnectionFactory { Uri = address };
        await using var connection = await factory.CreateConnectionAsync();
        await using var publisher = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await using var consumer = await connection.CreateChannelAsync();
        var queue = $"egressd-bench-raw-{Guid.NewGuid():N}";
        await publisher.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" });
        await consumer.BasicQosAsync(0, 16, false);
        var body = new byte[size];
        Random.Shared.NextBytes(body);
        var received = 0;
        var done = new TaskCompletionSource();
        var handler = new RabbitMQ.Client.Events.AsyncEventingBasicConsumer(consumer);
        handler.ReceivedAsync += async (_, delivery) =>
        {
            await consumer.BasicAckAsync(delivery.DeliveryTag, false);
            if (Interlocked.Increment(ref received) == count)
            {
                done.TrySetResult();
            }
        };
        await consumer.BasicConsumeAsync(queue, autoAck: false, handler);
        var watch = Stopwatch.StartNew();
        var inFlight = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            inFlight.Add(publisher.BasicPublishAsync("", queue, mandatory: true, new BasicProperties { Persistent = true }, body).AsTask());
            if (inFlight.Count == 16)
            {
                await Task.WhenAll(inFlight);
                inFlight.Clear();
            }
        }

        await Task.WhenAll(inFlight);
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        var rate = count / watch.Elapsed.TotalSeconds;
        await publisher.QueueDeleteAsync(queue);
        return rate;
    }

    /// <summary>The enricher in-process on RabbitMQ: collected batches in, enriched batches drained from a probe queue.</summary>
    private static async Task<double> PipelineThroughputAsync(Uri address, ClusterState state, FlowBatchCollected[] batches, int count)
    {
        var (user, password) = address.UserInfo.Split(':') is [var u, var p] ? (u, p) : ("guest", "guest");
        var builder = WebApplication.CreateBuilder();
        builder.AddEgressdDefaults("egressd-enricher", 0);
        builder.Configuration["Logging:LogLevel:Default"] = "Warning";
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "rabbitmq",
            ["Egressd:Bus:RabbitMq:Host"] = address.Host,
            ["Egressd:Bus:RabbitMq:Port"] = address.Port.ToString(),
            ["Egressd:Bus:RabbitMq:Username"] = user,
            ["Egressd:Bus:RabbitMq:Password"] = password,
            ["Egressd:ClusterContext:Source"] = "None",
            ["Egressd:Http:BindAddress"] = "127.0.0.1",
        });
        builder.Services.AddSingleton(state);
        builder.AddEnricher();
        await using var app = builder.Build();
        await app.StartAsync();
        var bus = app.Services.GetRequiredService<IBusControl>();
        while (bus.CheckHealth().Status != BusHealthStatus.Healthy)
        {
            await Task.Delay(100);
        }

        var factory = new ConnectionFactory { Uri = address };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var probe = (await channel.QueueDeclareAsync()).QueueName;
        await channel.ExchangeDeclareAsync("Egressd.Contracts:FlowBatchEnriched", ExchangeType.Fanout, durable: true);
        await channel.QueueBindAsync(probe, "Egressd.Contracts:FlowBatchEnriched", "");
        await channel.BasicQosAsync(0, 16, false);
        var received = 0;
        var done = new TaskCompletionSource();
        var handler = new RabbitMQ.Client.Events.AsyncEventingBasicConsumer(channel);
        handler.ReceivedAsync += async (_, delivery) =>
        {
            await channel.BasicAckAsync(delivery.DeliveryTag, false);
            if (Interlocked.Increment(ref received) == count)
            {
                done.TrySetResult();
            }
        };
        await channel.BasicConsumeAsync(probe, autoAck: false, handler);

        var watch = Stopwatch.StartNew();
        var inFlight = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            var next = batches[i % batches.Length];
            var batch = next with { Header = next.Header with { Id = next.Header.Id with { BootId = $"bench-{i}" } } };
            inFlight.Add(bus.PublishBatchAsync(batch, batch.Header.Id, TimeSpan.FromMinutes(1), CancellationToken.None));
            if (inFlight.Count == 16)
            {
                await Task.WhenAll(inFlight);
                inFlight.Clear();
            }
        }

        await Task.WhenAll(inFlight);
        await done.Task.WaitAsync(TimeSpan.FromMinutes(10));
        var rate = count / watch.Elapsed.TotalSeconds;
        await app.StopAsync();
        return rate;
    }

    /// <summary>Flows a second through <paramref name="work"/> (batch index → flows done) on this thread: median of seven one-second rounds.</summary>
    private static double Rate(Func<int, int> work)
    {
        for (var i = 0; i < 20; i++)
        {
            work(i % Batches);
        }

        var rates = new List<double>();
        for (var round = 0; round < 7; round++)
        {
            var watch = Stopwatch.StartNew();
            var flows = 0;
            for (var i = 0; watch.Elapsed < TimeSpan.FromSeconds(1); i++)
            {
                flows += work(i % Batches);
            }

            rates.Add(flows / watch.Elapsed.TotalSeconds);
        }

        return Measure.Median(rates);
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1]) : fallback;
    }
}
