using System.Diagnostics;
using System.Globalization;
using Egressd.Contracts;
using Egressd.Shared.Bus;
using Egressd.Shared.Hosting;
using Egressd.Shared.Wire;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace Egressd.Benchmarks;

/// <summary>
/// A large cluster simulated on one machine: this process publishes the collected windows of
/// <c>--nodes</c> nodes (distinct node names and boot ids, <c>--flows-per-node</c> flows each per
/// 5 s window, parts of 1,000 as a collector cuts them), an API server over TLS holds the cluster's
/// pods, nodes and services and replaces <c>--churn</c> pods a second on every pod watch, and
/// <c>--enrichers</c> enricher and <c>--exporters</c> exporter replicas (the Prometheus sink over
/// <c>--shards</c> shard queues, each replica's flow log its own) run as in their pods on a private
/// three-node RabbitMQ cluster. Figures are taken over a measured stretch after a warm-up.
/// </summary>
internal static class ScaleBenchmark
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);
    private static readonly string[] Sinks = ["prometheus", "flow-log"];
    private static readonly string[] PipelineQueues = ["egressd-enricher", "egressd-exporter-flow-log"];

    public static async Task<int> RunAsync(string[] args)
    {
        var nodes = Option(args, "--nodes", 5000);
        var flowsPerNode = Option(args, "--flows-per-node", 1000);
        var pods = Option(args, "--pods", 150_000);
        var services = Option(args, "--services", 20_000);
        var churn = Option(args, "--churn", 50);
        var enrichers = Option(args, "--enrichers", 2);
        var exporters = Option(args, "--exporters", 2);
        var shards = Option(args, "--shards", 4);
        var warmup = Option(args, "--warmup", 30);
        var seconds = Option(args, "--seconds", 60);
        // The enricher's pod memory limit: its budget (256 MiB) by default; more to see what a cluster this size needs.
        var enricherMiB = Option(args, "--enricher-mib", 256);
        using var workDirectory = WorkDirectory.Create("egressd-bench-scale-");
        var work = workDirectory.Path;
        var offered = (double)nodes * flowsPerNode / Window.TotalSeconds;
        Console.WriteLine($"Scale: {nodes:N0} simulated nodes × {flowsPerNode:N0} flows per {Window.TotalSeconds:F0} s window ({offered:N0} flows/s offered), "
            + $"API server with {pods:N0} pods, {nodes:N0} nodes, {services:N0} services, {churn} pods replaced a second; "
            + $"{enrichers} enrichers ({enricherMiB} MiB pods), {exporters} exporters ({shards} Prometheus shards, a flow log each) on a three-node RabbitMQ cluster; "
            + $"{warmup} s warm-up, {seconds} s measured; {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}.");

        await using var cluster = await BrokerCluster.StartAsync(Path.Combine(work, "cluster"));
        var bus = cluster.BusSettings();
        await using var api = await ClusterApiServer.StartAsync(Path.Combine(work, "serviceaccount"), pods, nodes, services, churn);
        var started = new List<(string Name, Process Process, int Port)>();
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        try
        {
            for (var i = 0; i < exporters; i++)
            {
                var port = 19300 + i;
                started.Add(($"exporter-{i + 1}", ServiceLauncher.Start("exporter", "Egressd.Exporter", 512, 75, bus.Concat(new Dictionary<string, string>
                {
                    ["Egressd:Http:Port"] = port.ToString(CultureInfo.InvariantCulture),
                    ["Egressd:Exporter:Prometheus:Shards"] = shards.ToString(CultureInfo.InvariantCulture),
                    ["Egressd:Exporter:FlowLog:Enabled"] = "true",
                    ["Egressd:Exporter:FlowLog:Path"] = Path.Combine(work, $"flows-{i + 1}.jsonl"),
                    ["Egressd:Exporter:FlowLog:MaxFileBytes"] = (256L << 20).ToString(CultureInfo.InvariantCulture),
                    ["Egressd:Exporter:FlowLog:RotatedFiles"] = "1",
                }), new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "0x2000000" }, memoryLimit: true), port));
            }

            foreach (var (name, process, port) in started)
            {
                await ReadyAsync(http, name, process, port, TimeSpan.FromMinutes(3));
            }

            var syncs = new List<(string Name, double Seconds)>();
            for (var i = 0; i < enrichers; i++)
            {
                var port = 19310 + i;
                var clock = Stopwatch.StartNew();
                var enricher = ServiceLauncher.Start("enricher", "Egressd.Enricher", enricherMiB, 75, bus.Concat(new Dictionary<string, string>
                {
                    ["Egressd:Http:Port"] = port.ToString(CultureInfo.InvariantCulture),
                    ["Egressd:ClusterContext:Source"] = "kubernetes",
                }), new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "0x2000000" }, (api.ServiceAccount, api.Port), memoryLimit: true);
                started.Add(($"enricher-{i + 1}", enricher, port));
                // Ready once its caches hold the whole cluster: the time a new replica needs before it enriches.
                await ReadyAsync(http, $"enricher-{i + 1}", enricher, port, TimeSpan.FromMinutes(8));
                syncs.Add(($"enricher-{i + 1}", clock.Elapsed.TotalSeconds));
            }

            await using var publisher = await SimulatedNodes.StartAsync(bus, nodes, flowsPerNode, pods, services);
            using var stop = new CancellationTokenSource();
            var publishing = publisher.RunAsync(stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(warmup));
            PipelineBenchmark.AssertRunning([.. started.Select(s => s.Process)], [.. started.Select(s => s.Name)]);

            var beams = cluster.Beams();
            var processes = started.Select(s => s.Process).Concat(beams).Append(Process.GetCurrentProcess()).ToArray();
            var cpuBefore = processes.Select(PipelineBenchmark.Cpu).ToArray();
            var watch = Stopwatch.StartNew();
            var exporterPorts = started.Where(s => s.Name.StartsWith("exporter", StringComparison.Ordinal)).Select(s => s.Port).ToArray();
            var before = await ScrapeAsync(http, exporterPorts);
            var queues = PipelineQueues.Concat(Enumerable.Range(0, shards).Select(s => $"egressd-exporter-prometheus-{s}")).ToArray();
            var waitingBefore = await cluster.WaitingAsync(queues);
            var publishedBefore = publisher.Published;
            var churnBefore = api.Churned;
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            var elapsed = watch.Elapsed.TotalSeconds;
            var cpuAfter = processes.Select(PipelineBenchmark.Cpu).ToArray();
            var after = await ScrapeAsync(http, exporterPorts);
            var waitingAfter = await cluster.WaitingAsync(queues);
            var publishedRate = (publisher.Published - publishedBefore) / elapsed;
            var churnRate = (api.Churned - churnBefore) / elapsed;
            PipelineBenchmark.AssertRunning([.. started.Select(s => s.Process)], [.. started.Select(s => s.Name)]);
            await stop.CancelAsync();
            await publishing;

            Console.WriteLine();
            Console.WriteLine($"Published (broker-confirmed) {publishedRate:N0} flows/s of the {offered:N0} offered; {publisher.LateWindows} windows began late (the last one's parts still unconfirmed); pod events on each watch {churnRate / enrichers:N0}/s.");
            Console.WriteLine();
            Console.WriteLine("| sink | applied flows/s (all replicas) | applied / offered | lag p50 | lag p99 |");
            Console.WriteLine("|---|---|---|---|---|");
            foreach (var sink in Sinks)
            {
                var rate = (after.Applied[sink] - before.Applied[sink]) / elapsed;
                var buckets = after.Lag[sink].Select(b => (b.Key, b.Value - before.Lag[sink].GetValueOrDefault(b.Key))).OrderBy(b => b.Key).ToList();
                Console.WriteLine($"| {sink} | **{rate:N0}** | {rate / offered:P0} | {Quantile(buckets, 0.5)} | {Quantile(buckets, 0.99)} |");
            }

            Console.WriteLine();
            Console.WriteLine("| process | peak RSS | CPU (cores) | CPU µs per offered flow | pod peak charge / limit reached / OOM kills |");
            Console.WriteLine("|---|---|---|---|---|");
            var names = started.Select(s => s.Name).Concat(beams.Select((_, i) => $"rabbitmq node {i + 1}")).Append($"this process ({nodes:N0} nodes' collectors, the API server)").ToArray();
            for (var i = 0; i < processes.Length; i++)
            {
                var cores = (cpuAfter[i] - cpuBefore[i]) / elapsed;
                var pod = i < started.Count && ServiceLauncher.Memory(started[i].Process)?.Read() is { } memory
                    ? string.Create(CultureInfo.InvariantCulture, $"{memory.PeakMiB} MiB / {memory.LimitReached:N0} / {memory.OomKills}")
                    : "";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {names[i]} | {PipelineBenchmark.PeakRssMiB(processes[i]):F0} MiB | {cores:F2} | {cores * 1e6 / offered:F2} | {pod} |"));
            }

            Console.WriteLine();
            foreach (var (name, sync) in syncs)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: ready (every cache synced) {sync:F1} s after its start."));
            }

            Console.WriteLine("Messages waiting at the start → end of the measured stretch: "
                + string.Join(", ", queues.Select((q, i) => $"{q[8..]} {waitingBefore[i]:N0} → {waitingAfter[i]:N0}")) + ".");
            return 0;
        }
        finally
        {
            foreach (var (_, process, _) in started)
            {
                await ServiceLauncher.StopAsync(process);
            }
        }
    }

    /// <summary>The upper bound of the histogram bucket holding the quantile (a bound, not an interpolation).</summary>
    private static string Quantile(List<(double Le, double Count)> buckets, double q)
    {
        var total = buckets.Count == 0 ? 0 : buckets[^1].Count;
        if (total <= 0)
        {
            return "no batch";
        }

        foreach (var (le, count) in buckets)
        {
            if (count >= q * total)
            {
                return double.IsPositiveInfinity(le) ? "> 600 s" : string.Create(CultureInfo.InvariantCulture, $"≤ {le:G} s");
            }
        }

        return "?";
    }

    private static async Task<Scrape> ScrapeAsync(HttpClient http, int[] ports)
    {
        var applied = Sinks.ToDictionary(s => s, _ => 0.0);
        var lag = Sinks.ToDictionary(s => s, _ => new Dictionary<double, double>());
        foreach (var port in ports)
        {
            var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith("egressd_exporter_flows_applied_total ", StringComparison.Ordinal))
                {
                    applied["prometheus"] += Value(line);
                }
                else if (line.StartsWith("egressd_exporter_flow_log_lines_written_total ", StringComparison.Ordinal))
                {
                    applied["flow-log"] += Value(line);
                }
                else if (line.StartsWith("egressd_exporter_sink_lag_seconds_bucket{", StringComparison.Ordinal))
                {
                    var sink = Label(line, "sink");
                    var le = Label(line, "le");
                    if (sink is not null && lag.TryGetValue(sink, out var buckets) && le is not null)
                    {
                        var bound = le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture);
                        buckets[bound] = buckets.GetValueOrDefault(bound) + Value(line);
                    }
                }
            }
        }

        return new Scrape(applied, lag);
    }

    private static double Value(string line) => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);

    private static string? Label(string line, string name)
    {
        var at = line.IndexOf(name + "=\"", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        at += name.Length + 2;
        return line[at..line.IndexOf('"', at)];
    }

    private static async Task ReadyAsync(HttpClient http, string name, Process process, int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with code {process.ExitCode}:\n{ServiceLauncher.Tail(process)}");
            }

            try
            {
                if ((await http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{name} was not ready within {timeout}:\n{ServiceLauncher.Tail(process)}");
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private sealed record Scrape(Dictionary<string, double> Applied, Dictionary<string, Dictionary<double, double>> Lag);

    /// <summary>
    /// Every simulated node's collector in one process: each window, each node's flows (from pods on
    /// that node to pods, services and public addresses; the same keys every window, as long-lived
    /// connections are) published in parts of 1,000 with confirms, as a collector publishes them.
    /// </summary>
    private sealed class SimulatedNodes : IAsyncDisposable
    {
        private const int FlowsPerPart = 1000;
        private const int InFlight = 64;
        private readonly WebApplication host;
        private readonly IBus bus;
        private readonly int nodes;
        private readonly int flowsPerNode;
        private readonly int pods;
        private readonly int services;
        private readonly string[] bootIds;
        private long published;
        private int lateWindows;

        private SimulatedNodes(WebApplication host, int nodes, int flowsPerNode, int pods, int services)
        {
            this.host = host;
            bus = host.Services.GetRequiredService<IBus>();
            this.nodes = nodes;
            this.flowsPerNode = flowsPerNode;
            this.pods = pods;
            this.services = services;
            bootIds = [.. Enumerable.Range(0, nodes).Select(_ => Guid.NewGuid().ToString())];
        }

        /// <summary>Flows the broker confirmed.</summary>
        public long Published => Interlocked.Read(ref published);

        public int LateWindows => Volatile.Read(ref lateWindows);

        public static async Task<SimulatedNodes> StartAsync(Dictionary<string, string> bus, int nodes, int flowsPerNode, int pods, int services)
        {
            var app = EgressdHost.Build([], "egressd-scale-nodes", defaultPort: 0, builder =>
            {
                builder.Configuration.AddInMemoryCollection(bus.Select(b => new KeyValuePair<string, string?>(b.Key, b.Value))
                    .Append(new("Egressd:Http:BindAddress", "127.0.0.1")).Append(new("Egressd:Http:Port", "0")));
                builder.AddEgressdBus(_ => { });
            });
            await app.StartAsync();
            return new SimulatedNodes(app, nodes, flowsPerNode, pods, services);
        }

        public async Task RunAsync(CancellationToken stop)
        {
            var start = DateTimeOffset.UtcNow;
            for (long window = 1; !stop.IsCancellationRequested; window++)
            {
                var windowStart = start + ((window - 1) * Window);
                var windowEnd = windowStart + Window;
                var wait = windowEnd - DateTimeOffset.UtcNow;
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, stop);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
                else
                {
                    Interlocked.Increment(ref lateWindows);
                }

                await Parallel.ForEachAsync(Enumerable.Range(0, nodes), new ParallelOptions { MaxDegreeOfParallelism = InFlight }, async (node, _) =>
                {
                    var parts = (flowsPerNode + FlowsPerPart - 1) / FlowsPerPart;
                    for (var part = 0; part < parts; part++)
                    {
                        var batch = Batch(node, window, part, parts, windowStart, windowEnd);
                        // Not cancelled half-way: a window that began goes out whole.
                        try
                        {
                            await bus.PublishBatchAsync(EncodedFlowBatch.Encode(batch), batch.Header.Id, TimeSpan.FromSeconds(30), CancellationToken.None);
                            Interlocked.Add(ref published, batch.Flows.Count);
                        }
                        catch (Exception e) when (e is TimeoutException or MassTransitException)
                        {
                            // Counted as not published; the figures say how much was.
                        }
                    }
                });
            }
        }

        private FlowBatchCollected Batch(int node, long window, int part, int parts, DateTimeOffset windowStart, DateTimeOffset windowEnd)
        {
            var count = Math.Min(FlowsPerPart, flowsPerNode - (part * FlowsPerPart));
            // The same keys every window: seeded by node and part.
            var random = new Random((node * 7919) + part);
            var local = Math.Max(1, pods / nodes);
            var flows = new FlowRecord[count];
            for (var i = 0; i < count; i++)
            {
                // Pod p runs on node p % nodes (the API server's layout): its pods are node, node + nodes, ...
                var source = PodIp(node + (nodes * (i % local)));
                var kind = random.Next(10);
                var destination = kind switch
                {
                    < 6 => PodIp(random.Next(pods)),
                    < 8 => ServiceIp(random.Next(services)),
                    _ => IpAddr.FromV4((198u << 24) | (18u << 16) | (uint)random.Next(1 << 16)),
                };
                flows[i] = new FlowRecord
                {
                    SourceIp = source,
                    DestinationIp = destination,
                    Protocol = kind == 9 ? 17 : 6,
                    TxBytes = (ulong)random.Next(100, 200_000),
                    RxBytes = (ulong)random.Next(100, 2_000_000),
                    TxPackets = (ulong)random.Next(1, 200),
                    RxPackets = (ulong)random.Next(1, 2000),
                };
            }

            var name = $"node-{node}";
            return new FlowBatchCollected
            {
                Header = new BatchHeader
                {
                    Id = new BatchId { Node = name, BootId = bootIds[node], Window = window, Part = part, PartCount = parts },
                    Node = name,
                    WindowStart = windowStart,
                    WindowEnd = windowEnd,
                    Source = FlowSource.Replay,
                },
                Flows = flows,
                DnsAnswers = [],
            };
        }

        /// <summary>Pod <paramref name="i"/>'s address, as <see cref="ReplayRecording.PodIp"/> writes it.</summary>
        private static IpAddr PodIp(int i) => IpAddr.FromV4((10u << 24) | ((uint)(100 + (i / 65536)) << 16) | ((uint)((i / 256) % 256) << 8) | (uint)(i % 256));

        /// <summary>Service <paramref name="s"/>'s cluster IP, as <see cref="ClusterApiServer"/> serves it.</summary>
        private static IpAddr ServiceIp(int s) => IpAddr.FromV4((10u << 24) | (96u << 16) | ((uint)(s / 250) << 8) | (uint)(s % 250));

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
    }

    /// <summary>tests/private-rabbitmq-cluster.sh: three nodes on loopback, stopped with the run.</summary>
    private sealed class BrokerCluster : IAsyncDisposable
    {
        private readonly string directory;
        private readonly IDisposable undo;

        private BrokerCluster(string directory, string[] endpoints)
        {
            this.directory = directory;
            Endpoints = endpoints;
            undo = Teardown.Add("the private RabbitMQ cluster", () => ScriptAsync("stop", directory).GetAwaiter().GetResult());
        }

        public string[] Endpoints { get; }

        public static async Task<BrokerCluster> StartAsync(string directory) =>
            new(directory, (await ScriptAsync("start", directory)).Trim().Split(','));

        public Dictionary<string, string> BusSettings()
        {
            var settings = new Dictionary<string, string>
            {
                ["Egressd:Bus:Transport"] = "rabbitmq",
                ["Egressd:Bus:RabbitMq:Username"] = "guest",
                ["Egressd:Bus:RabbitMq:Password"] = "guest",
            };
            for (var i = 0; i < Endpoints.Length; i++)
            {
                settings[$"Egressd:Bus:RabbitMq:Hosts:{i}"] = Endpoints[i];
            }

            return settings;
        }

        /// <summary>The nodes' Erlang VMs, node 1 first.</summary>
        public Process[] Beams() => [.. Process.GetProcessesByName("beam.smp")
            .Select(p => (Process: p, CommandLine: File.ReadAllText($"/proc/{p.Id}/cmdline")))
            .Where(p => p.CommandLine.Contains(directory, StringComparison.Ordinal))
            .OrderBy(p => p.CommandLine, StringComparer.Ordinal)
            .Select(p => p.Process)];

        /// <summary>Messages in each queue (ready, not yet delivered).</summary>
        public async Task<uint[]> WaitingAsync(string[] queues)
        {
            var endpoint = Endpoints[0].Split(':');
            var factory = new ConnectionFactory { HostName = endpoint[0], Port = int.Parse(endpoint[1], CultureInfo.InvariantCulture), UserName = "guest", Password = "guest" };
            await using var connection = await factory.CreateConnectionAsync();
            var counts = new uint[queues.Length];
            for (var i = 0; i < queues.Length; i++)
            {
                await using var channel = await connection.CreateChannelAsync();
                try
                {
                    counts[i] = (await channel.QueueDeclarePassiveAsync(queues[i])).MessageCount;
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
                {
                    counts[i] = 0;
                }
            }

            return counts;
        }

        public async ValueTask DisposeAsync()
        {
            await ScriptAsync("stop", directory);
            undo.Dispose();
        }

        private static async Task<string> ScriptAsync(string command, string directory)
        {
            var script = Path.Combine(Repo.Root, "tests", "private-rabbitmq-cluster.sh");
            var start = new ProcessStartInfo("bash", [script, command, directory]) { RedirectStandardOutput = true, UseShellExecute = false };
            using var process = Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return process.ExitCode == 0 ? output : throw new InvalidOperationException($"tests/private-rabbitmq-cluster.sh {command} failed");
        }
    }
}
