using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Egressd.Shared.Wire;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Egressd.Benchmarks;

/// <summary>
/// The whole pipeline as a user runs it: collector, enricher and exporter as three processes on a
/// private RabbitMQ. The collector replays a recording of <c>--flows</c> distinct flows at every
/// read, among <c>--pods</c> pods on 100 nodes, in parts of 5,000. As in a cluster, the enricher and the
/// collector watch them on an API server over TLS with a service account (root: <see cref="ServiceLauncher"/>);
/// <c>--cluster inventory</c> gives the enricher an inventory file instead. Figures are taken
/// over a steady stretch after a warm-up. One run with the Prometheus sink alone, one with the flow
/// log too, then RabbitMQ alone with messages of the sizes measured on the bus.
/// </summary>
internal static class PipelineBenchmark
{
    private const int FlowsPerPart = 5000;

    public static async Task<int> RunAsync(string[] args)
    {
        var flows = Option(args, "--flows", 100_000);
        var pods = Option(args, "--pods", 5000);
        var seconds = Option(args, "--seconds", 30);
        var warmup = Option(args, "--warmup", 15);
        // The collector reads the whole recording once per read interval, so the interval sets the
        // offered rate; 0 reads every 100 ms (the shortest interval allowed), far more than is taken.
        var offer = Option(args, "--offer", 0);
        var readInterval = offer > 0 ? TimeSpan.FromSeconds((double)flows / offer) : TimeSpan.FromMilliseconds(100);
        var inventoryOnly = Array.IndexOf(args, "--cluster") is var at && at >= 0 && at + 1 < args.Length && args[at + 1] == "inventory";
        var memoryLimit = !(Array.IndexOf(args, "--memory-limit") is var limitAt && limitAt >= 0 && limitAt + 1 < args.Length && args[limitAt + 1] == "none");
        using var workDirectory = WorkDirectory.Create("egressd-bench-pipeline-");
        var work = workDirectory.Path;
        var (replay, inventory) = WriteFixtures(work, flows, pods);
        await using var broker = await Broker.StartAsync();
        await using var api = inventoryOnly ? null : await ClusterApiServer.StartAsync(Path.Combine(work, "serviceaccount"), pods, nodes: 100);
        Console.WriteLine("Each service as in a pod with its budget as the limit " +
            (memoryLimit ? "(its memory cgroup's, from files of its own; " : "(no memory cgroup: --memory-limit none; ") + "workstation GC, heap capped at a share of it): " +
            string.Join(", ", Budget.Select(b => $"{b.Key} {b.Value.MiB} MiB (heap {b.Value.HeapPercent} %)")) + ".");
        Console.WriteLine($"Pipeline: {flows:N0} distinct flows per read, {pods:N0} pods " +
            (api is null ? "in the enricher's inventory" : "watched on an API server over TLS by the enricher (all) and the collector (its node's)") +
            $", parts of {FlowsPerPart:N0}; " +
            $"{warmup} s warm-up, {seconds} s measured; {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}.");
        Console.WriteLine($"The collector reads every {readInterval.TotalMilliseconds:F0} ms: {flows / readInterval.TotalSeconds:N0} flows/s offered.");
        Console.WriteLine();

        var prometheus = await RunOnceAsync(broker, api, work, replay, inventory, flowLog: false, warmup, seconds, readInterval, memoryLimit);
        var both = await RunOnceAsync(broker, api, work, replay, inventory, flowLog: true, warmup, seconds, readInterval, memoryLimit);
        var rawEnriched = await EnricherBenchmark.RawThroughputAsync(broker.Address, (int)(both.EnrichedBytesPerFlow * FlowsPerPart), 400);
        var rawCollected = await EnricherBenchmark.RawThroughputAsync(broker.Address, (int)(both.CollectedBytesPerFlow * FlowsPerPart), 400);

        Console.WriteLine("| | Prometheus sink only | Prometheus sink and flow log |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| flows/s end to end | **{prometheus.FlowsPerSecond:N0}** | **{both.FlowsPerSecond:N0}** |");
        Console.WriteLine($"| collected bytes per flow on the bus | {prometheus.CollectedBytesPerFlow:F1} | {both.CollectedBytesPerFlow:F1} |");
        Console.WriteLine($"| enriched bytes per flow on the bus | {prometheus.EnrichedBytesPerFlow:F1} | {both.EnrichedBytesPerFlow:F1} |");
        foreach (var name in new[] { "collector", "enricher", "exporter" })
        {
            Console.WriteLine($"| {name}: peak RSS / CPU | {prometheus.Processes[name]} | {both.Processes[name]} |");
        }

        if (memoryLimit)
        {
            foreach (var name in new[] { "collector", "enricher", "exporter" })
            {
                Console.WriteLine($"| {name}'s pod, {Budget[name].MiB} MiB limit: peak charge (anonymous and shared at the end) / limit reached / OOM kills | {prometheus.Pods[name]} | {both.Pods[name]} |");
            }
        }

        Console.WriteLine($"| RabbitMQ (beam): peak RSS / CPU | {prometheus.Processes["broker"]} | {both.Processes["broker"]} |");
        Console.WriteLine($"| exporter series at the end | {prometheus.Series:N0} | {both.Series:N0} |");
        Console.WriteLine($"| batches waiting at the start / end of the measured stretch | {prometheus.Backlog} | {both.Backlog} |");
        Console.WriteLine();
        Console.WriteLine("| RabbitMQ alone (publish with confirms, consume with acks, quorum queue) | messages/s | flows/s at 5,000 a message |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| {both.CollectedBytesPerFlow * FlowsPerPart / 1024:F0} KiB messages (collected size) | {rawCollected:N0} | {rawCollected * FlowsPerPart:N0} |");
        Console.WriteLine($"| {both.EnrichedBytesPerFlow * FlowsPerPart / 1024:F0} KiB messages (enriched size) | {rawEnriched:N0} | {rawEnriched * FlowsPerPart:N0} |");
        Console.WriteLine($"| end to end / RabbitMQ alone at the enriched size | {prometheus.FlowsPerSecond / (rawEnriched * FlowsPerPart):F2} (Prometheus only) | {both.FlowsPerSecond / (rawEnriched * FlowsPerPart):F2} (both sinks) |");
        return 0;
    }

    private static async Task<Result> RunOnceAsync(Broker broker, ClusterApiServer? api, string work, string replay, string inventory, bool flowLog, int warmup, int seconds, TimeSpan readInterval, bool memoryLimit)
    {
        var runId = Guid.NewGuid().ToString("N")[..8];
        var bus = ServiceLauncher.BusSettings(broker.Address);
        var flowLogPath = Path.Combine(work, $"flows-{runId}.jsonl");
        // Stopped however the run ends, so no service outlives it (nor its pod's cgroup and files).
        var started = new List<Process>();
        try
        {
            var exporter = Start("exporter", "Egressd.Exporter", 19200, bus, memoryLimit, new()
            {
                ["Egressd:Exporter:FlowLog:Enabled"] = flowLog ? "true" : "false",
                ["Egressd:Exporter:FlowLog:Path"] = flowLogPath,
                ["Egressd:Exporter:FlowLog:MaxFileBytes"] = (512L << 20).ToString(CultureInfo.InvariantCulture),
                ["Egressd:Exporter:FlowLog:RotatedFiles"] = "1",
            });
            started.Add(exporter);
            var enricher = Start("enricher", "Egressd.Enricher", 19201, bus, memoryLimit, api is null
                ? new() { ["Egressd:ClusterContext:Source"] = "inventory", ["Egressd:Inventory:File"] = inventory }
                : new() { ["Egressd:ClusterContext:Source"] = "kubernetes" }, api);
            started.Add(enricher);
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            await ReadyAsync(http, 19200);
            await ReadyAsync(http, 19201);
            await using var probes = await Probes.StartAsync(broker.Address);
            var collector = Start("collector", "Egressd.Collector", 19202, bus, memoryLimit, new()
            {
                ["Egressd:Collector:NodeName"] = $"bench-{runId}",
                ["Egressd:Collector:Source"] = "replay",
                ["Egressd:Collector:ReplayFile"] = replay,
                ["Egressd:Collector:ReplayLoop"] = "true",
                // Reads between two publishes fold into one window (the same keys), so the window rate
                // shows what the pipeline takes when more is offered than it carries.
                ["Egressd:Collector:ReadInterval"] = readInterval.ToString("c", CultureInfo.InvariantCulture),
                ["Egressd:Collector:StateDirectory"] = Path.Combine(work, "collector-" + runId),
                // The replay has no node of its own: its node's pods are none, but it watches them as in a pod.
                ["Egressd:ClusterContext:Source"] = api is null ? "none" : "kubernetes",
            }, api);
            started.Add(collector);
            Process[] all = [collector, enricher, exporter];
            var beam = broker.Beam();
            await Task.Delay(TimeSpan.FromSeconds(warmup));
            AssertRunning(all, ["collector", "enricher", "exporter"]);
            string[] sinks = flowLog ? ["prometheus", "flow-log"] : ["prometheus"];
            string[] queues = ["egressd-enricher", .. sinks.Select(s => $"egressd-exporter-{s}")];
            // Time and CPU are read just as each scrape is sent: the counters it returns are those
            // of that moment (they come before the flow series in the exposition).
            var cpuBefore = all.Append(beam).Select(Cpu).ToArray();
            var watch = Stopwatch.StartNew();
            var before = await Task.WhenAll(sinks.Select(s => AppliedAsync(http, s)));
            var waitingBefore = await probes.WaitingAsync(queues);
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            var elapsed = watch.Elapsed.TotalSeconds;
            var cpuAfter = all.Append(beam).Select(Cpu).ToArray();
            var after = await Task.WhenAll(sinks.Select(s => AppliedAsync(http, s)));
            var waitingAfter = await probes.WaitingAsync(queues);
            AssertRunning(all, ["collector", "enricher", "exporter"]);
            // With both sinks, the slower one sets the pace.
            var rate = sinks.Select((_, i) => (after[i] - before[i]) / elapsed).Min();
            var names = new[] { "collector", "enricher", "exporter", "broker" };
            var processes = new Dictionary<string, string>();
            for (var i = 0; i < names.Length; i++)
            {
                var p = i < all.Length ? all[i] : beam;
                processes[names[i]] = string.Create(CultureInfo.InvariantCulture, $"{PeakRssMiB(p):F0} MiB / {(cpuAfter[i] - cpuBefore[i]) / elapsed:F2} cores");
            }

            var pods = new Dictionary<string, string>();
            for (var i = 0; i < all.Length; i++)
            {
                pods[names[i]] = ServiceLauncher.Memory(all[i])?.Read() is { } pod
                    ? string.Create(CultureInfo.InvariantCulture, $"{pod.PeakMiB} MiB ({pod.UnreclaimableMiB}) / {pod.LimitReached:N0} / {pod.OomKills}")
                    : "";
            }

            var series = await MetricAsync(http, 19200, "egressd_exporter_series");
            var backlog = string.Join(", ", queues.Select((q, i) => $"{q[8..]} {waitingBefore[i]:N0} → {waitingAfter[i]:N0}"));
            return new Result(rate, probes.CollectedBytesPerFlow(), probes.EnrichedBytesPerFlow(), processes, pods, (long)series, backlog);
        }
        finally
        {
            foreach (var process in started)
            {
                await ServiceLauncher.StopAsync(process);
            }

            // The queues outlive the services: a backlog left here would be the next run's first work.
            await Probes.PurgeAsync(broker.Address, ["egressd-enricher", "egressd-exporter-prometheus", "egressd-exporter-flow-log"]);
        }
    }

    /// <summary>Flows the sink applied so far (the exporter's own counters).</summary>
    private static Task<double> AppliedAsync(HttpClient http, string sink) =>
        MetricAsync(http, 19200, sink == "prometheus" ? "egressd_exporter_flows_applied_total" : "egressd_exporter_flow_log_lines_written_total");

    internal static async Task<double> MetricAsync(HttpClient http, int port, string series)
    {
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    internal static async Task ReadyAsync(HttpClient http, int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
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

        throw new TimeoutException($"the service on port {port} never became ready");
    }

    /// <summary>
    /// Each service's memory budget as its pod limit, and the share of it the managed heap may
    /// take: 75 %, what .NET gives itself in a container with that limit (the rest is the runtime,
    /// code and native buffers). With the chart's workstation GC (and its gen0 budget for the
    /// enricher and the exporter), each process here runs as it would in its pod. <c>BENCH_HEAP_PERCENT_COLLECTOR</c> (and so on) tries other shares.
    /// </summary>
    private static readonly Dictionary<string, (long MiB, int HeapPercent)> Budget = new()
    {
        ["collector"] = (128, HeapPercent("collector", 75)),
        ["enricher"] = (256, HeapPercent("enricher", 75)),
        ["exporter"] = (512, HeapPercent("exporter", 75)),
    };

    private static int HeapPercent(string service, int chart) =>
        int.TryParse(Environment.GetEnvironmentVariable($"BENCH_HEAP_PERCENT_{service.ToUpperInvariant()}"), out var percent) ? percent : chart;

    /// <summary>Stops the run with what a service said last when it died: a budget too small shows here.</summary>
    internal static void AssertRunning(Process[] processes, string[] names)
    {
        for (var i = 0; i < processes.Length; i++)
        {
            if (processes[i].HasExited)
            {
                throw new InvalidOperationException($"the {names[i]} exited with code {processes[i].ExitCode} during the run:\n{ServiceLauncher.Tail(processes[i])}");
            }
        }
    }

    private static Process Start(string service, string assembly, int port, Dictionary<string, string> bus, bool memoryLimit, Dictionary<string, string> settings, ClusterApiServer? api = null)
    {
        var (budget, heapPercent) = Budget[service];
        // As the chart's gcGen0Size sets it for these two.
        Dictionary<string, string> environment = service is "enricher" or "exporter" ? new() { ["DOTNET_GCgen0size"] = "0x2000000" } : [];
        return ServiceLauncher.Start(service, assembly, budget, heapPercent,
            bus.Concat(settings).Append(new("Egressd:Http:Port", port.ToString(CultureInfo.InvariantCulture))), environment,
            api is null ? null : (api.ServiceAccount, api.Port), memoryLimit);
    }

    /// <summary>The recording (one flow per line) and the inventory its addresses belong to.</summary>
    private static (string Replay, string Inventory) WriteFixtures(string work, int flows, int pods)
    {
        var nodes = Enumerable.Range(0, 100).Select(n => new { name = $"node-{n}", zone = $"zone-{n % 3}", region = n % 10 == 0 ? "region-2" : "region-1", internalIps = new[] { $"10.0.{n / 250}.{n % 250}" } }).ToArray();
        var podList = Enumerable.Range(0, pods).Select(i => new
        {
            @namespace = $"team-{i % 40}",
            name = $"app-{i / 4}-{i % 4}",
            node = $"node-{i % 100}",
            ips = new[] { PodIp(i) },
            workloadKind = "Deployment",
            workloadName = $"app-{i / 4}",
        }).ToArray();
        var services = Enumerable.Range(0, 200).Select(s => new { @namespace = $"team-{s % 40}", name = $"svc-{s}", clusterIps = new[] { $"10.96.{s / 250}.{s % 250}" } }).ToArray();
        var inventory = Path.Combine(work, "inventory.json");
        File.WriteAllText(inventory, JsonSerializer.Serialize(new { nodes, pods = podList, services }));

        var replay = Path.Combine(work, "replay.jsonl");
        ReplayRecording.Write(replay, flows, pods);
        return (replay, inventory);
    }

    private static string PodIp(int i) => ReplayRecording.PodIp(i);

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>User and system CPU seconds the process has used.</summary>
    internal static double Cpu(Process? process)
    {
        if (process is null)
        {
            return 0;
        }

        var fields = File.ReadAllText($"/proc/{process.Id}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>Peak resident set (VmHWM) of the whole process so far.</summary>
    internal static double PeakRssMiB(Process? process)
    {
        if (process is null)
        {
            return 0;
        }

        var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    private sealed record Result(double FlowsPerSecond, double CollectedBytesPerFlow, double EnrichedBytesPerFlow, Dictionary<string, string> Processes, Dictionary<string, string> Pods, long Series, string Backlog);

    /// <summary>
    /// Queues of the benchmark's own on both exchanges, keeping only the latest few messages, to
    /// read what a flow costs on the bus.
    /// </summary>
    private sealed class Probes : IAsyncDisposable
    {
        private readonly IConnection connection;
        private readonly IChannel channel;
        private readonly string collected;
        private readonly string enriched;

        private Probes(IConnection connection, IChannel channel, string collected, string enriched)
        {
            this.connection = connection;
            this.channel = channel;
            this.collected = collected;
            this.enriched = enriched;
        }

        public static async Task<Probes> StartAsync(Uri broker)
        {
            var connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync();
            var channel = await connection.CreateChannelAsync();
            var arguments = new Dictionary<string, object?> { ["x-max-length"] = 8 };
            var collected = (await channel.QueueDeclareAsync("", false, true, true, arguments)).QueueName;
            var enriched = (await channel.QueueDeclareAsync("", false, true, true, arguments)).QueueName;
            await channel.ExchangeDeclareAsync("Egressd.Contracts:FlowBatchCollected", ExchangeType.Fanout, durable: true);
            await channel.ExchangeDeclareAsync("Egressd.Contracts:FlowBatchEnriched", ExchangeType.Fanout, durable: true);
            await channel.QueueBindAsync(collected, "Egressd.Contracts:FlowBatchCollected", "");
            await channel.QueueBindAsync(enriched, "Egressd.Contracts:FlowBatchEnriched", "");
            return new Probes(connection, channel, collected, enriched);
        }

        /// <summary>Empties those of these queues that exist.</summary>
        public static async Task PurgeAsync(Uri broker, string[] queues)
        {
            await using var connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync();
            foreach (var queue in queues)
            {
                // A channel each: asking for a queue that does not exist closes the channel.
                await using var channel = await connection.CreateChannelAsync();
                try
                {
                    await channel.QueueDeclarePassiveAsync(queue);
                }
                catch (OperationInterruptedException)
                {
                    continue;
                }

                await channel.QueuePurgeAsync(queue);
            }
        }

        /// <summary>Messages ready in each queue: a pipeline that keeps up holds these steady.</summary>
        public async Task<uint[]> WaitingAsync(string[] queues)
        {
            var counts = new uint[queues.Length];
            for (var i = 0; i < queues.Length; i++)
            {
                counts[i] = (await channel.QueueDeclarePassiveAsync(queues[i])).MessageCount;
            }

            return counts;
        }

        public double CollectedBytesPerFlow() => BytesPerFlow(collected, body => FlowWire.DecodeCollected(body).Flows.Count);

        public double EnrichedBytesPerFlow() => BytesPerFlow(enriched, body => FlowWire.DecodeEnriched(body).Flows.Count);

        public async ValueTask DisposeAsync()
        {
            await channel.CloseAsync();
            await connection.CloseAsync();
        }

        private double BytesPerFlow(string queue, Func<byte[], int> flows)
        {
            long bytes = 0, count = 0;
            while (channel.BasicGetAsync(queue, autoAck: true).GetAwaiter().GetResult() is { } message)
            {
                var body = message.Body.ToArray();
                bytes += body.Length;
                count += flows(body);
            }

            return count == 0 ? double.NaN : bytes / (double)count;
        }
    }
}
