using System.Diagnostics;
using System.Globalization;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Egressd.Benchmarks;

/// <summary>
/// The collector's memory as its pod sees it, without the rest of the pipeline: the collector
/// process (Release build, workstation GC, heap capped at 75 % of its 128 MiB budget, as .NET
/// does in a pod with that limit) replays <c>--flows</c> distinct flows at every 100 ms read and
/// publishes its windows in parts of 5,000 to a private RabbitMQ, where a quorum queue bound as
/// the enricher's is drained by a plain consumer. Every read changes every flow's counters, so
/// every window holds every key. As in a pod, the collector watches its node's pods (112 of the
/// recording's 5,000, on 45 nodes) on an API server over TLS with a service account (root: <see cref="ServiceLauncher"/>);
/// <c>--cluster none</c> leaves that out. As in a pod, its budget is the limit of a memory cgroup it runs in, from files
/// of its own (<see cref="PodMemory"/>); <c>--memory-limit none</c> runs it without one, to see what it takes when
/// nothing asks for memory back. The process's RSS is sampled all along; its peak is VmHWM.
/// <c>--env NAME=VALUE</c> (repeatable) adds to the collector's environment, to try runtime settings.
/// </summary>
internal static class CollectorMemoryBenchmark
{
    private const int FlowsPerPart = 5000;
    private const long BudgetMiB = 128;
    private const string Node = "node-0";
    private const int Nodes = 45;

    public static async Task<int> RunAsync(string[] args)
    {
        var flows = Option(args, "--flows", 250_000);
        var pods = Option(args, "--pods", 5000);
        var seconds = Option(args, "--seconds", 40);
        var heapPercent = Option(args, "--heap-percent", 75);
        var inPod = !(Array.IndexOf(args, "--cluster") is var at && at >= 0 && at + 1 < args.Length && args[at + 1] == "none");
        var memoryLimit = !(Array.IndexOf(args, "--memory-limit") is var limitAt && limitAt >= 0 && limitAt + 1 < args.Length && args[limitAt + 1] == "none");
        var extra = args.Select((a, i) => (a, i)).Where(x => x.a == "--env" && x.i + 1 < args.Length)
            .Select(x => args[x.i + 1].Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        using var workDirectory = WorkDirectory.Create("egressd-bench-colmem-");
        var work = workDirectory.Path;
        var replay = Path.Combine(work, "replay.jsonl");
        ReplayRecording.Write(replay, flows, pods);
        await using var broker = await Broker.StartAsync();
        await using var drain = await Drain.StartAsync(broker.Address);
        await using var api = inPod ? await ClusterApiServer.StartAsync(Path.Combine(work, "serviceaccount"), pods, Nodes) : null;
        Console.WriteLine($"Collector memory: {flows:N0} distinct flows changing at every 100 ms read, {pods:N0} source pods, parts of {FlowsPerPart:N0}; " +
            $"budget {BudgetMiB} MiB" + (memoryLimit ? " as its memory cgroup's limit" : " (no memory limit)") + $", heap capped at {heapPercent} %, workstation GC; " +
            (api is null ? "no cluster context; " : $"watching its node's {(pods + Nodes - 1) / Nodes} pods over TLS with a service account; ") +
            $"{seconds} s; {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}." +
            (extra.Count > 0 ? " Environment: " + string.Join(' ', extra.Select(kv => $"{kv.Key}={kv.Value}")) + "." : ""));

        var collector = Start(broker.Address, work, replay, heapPercent, extra, api, memoryLimit);
        var pod = ServiceLauncher.Memory(collector);
        var samples = new List<(double At, Status Status)>();
        long unreclaimable = 0, faultsHalfway = 0;
        double windows, parts;
        Status last;
        PodMemoryStats? podAtEnd;
        try
        {
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed.TotalSeconds < seconds)
            {
                if (collector.HasExited)
                {
                    throw new InvalidOperationException($"the collector exited with code {collector.ExitCode} after {watch.Elapsed.TotalSeconds:F0} s:\n{ServiceLauncher.Tail(collector)}");
                }

                var status = Status.Read(collector.Id);
                samples.Add((watch.Elapsed.TotalSeconds, status));
                faultsHalfway = watch.Elapsed.TotalSeconds < seconds / 2.0 ? status.MajorFaults : faultsHalfway;
                if (pod?.Read() is { } now)
                {
                    unreclaimable = Math.Max(unreclaimable, now.UnreclaimableMiB);
                }

                await Task.Delay(100);
            }

            using var http = new HttpClient();
            var metrics = await http.GetStringAsync(new Uri("http://127.0.0.1:19212/metrics"));
            windows = Metric(metrics, "egressd_collector_windows_published_total");
            parts = Metric(metrics, "egressd_collector_batches_published_total");
            last = Status.Read(collector.Id);
            podAtEnd = pod?.Read();
        }
        finally
        {
            await ServiceLauncher.StopAsync(collector);
        }

        var peakAt = samples.MaxBy(s => s.Status.RssKiB);
        Console.WriteLine();
        Console.WriteLine("| figure | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| **peak RSS (VmHWM)** | **{last.HwmKiB / 1024.0:F0} MiB** |");
        Console.WriteLine($"| largest sampled RSS: anonymous + file + shared memory | {peakAt.Status.RssKiB / 1024.0:F0} MiB: {peakAt.Status.AnonKiB / 1024.0:F0} + {peakAt.Status.FileKiB / 1024.0:F0} + {peakAt.Status.ShmemKiB / 1024.0:F0} MiB (at {peakAt.At:F0} s) |");
        Console.WriteLine($"| RSS at the end | {last.RssKiB / 1024.0:F0} MiB ({last.AnonKiB / 1024.0:F0} anonymous) |");
        Console.WriteLine($"| windows / parts confirmed | {windows:N0} / {parts:N0} ({windows / seconds:F2} windows/s, {drain.Messages:N0} messages drained) |");
        Console.WriteLine($"| requests to the API server | {(api is null ? "none (no cluster context)" : api.Requests.ToString(CultureInfo.InvariantCulture))} |");
        Console.WriteLine($"| bytes per flow on the bus | {(drain.Messages == 0 ? 0 : drain.Bytes / (double)(parts * FlowsPerPart)):F1} |");
        Console.WriteLine($"| RSS every 5 s (MiB) | {string.Join(" ", samples.Where((_, i) => i % 50 == 49).Select(s => (s.Status.RssKiB / 1024).ToString(CultureInfo.InvariantCulture)))} |");
        if (podAtEnd is { } end)
        {
            Console.WriteLine($"| pod's memory cgroup ({BudgetMiB} MiB limit): peak charge, of it anonymous and shared at most | {end.PeakMiB} MiB, {unreclaimable} MiB |");
            Console.WriteLine($"| limit reached (page cache reclaimed) / OOM kills | {end.LimitReached:N0} / {end.OomKills} |");
        }

        Console.WriteLine($"| major page faults (pages read from disk), all / second half of the run | {last.MajorFaults:N0} / {last.MajorFaults - faultsHalfway:N0} |");

        Console.WriteLine($"| within the {BudgetMiB} MiB budget | {(last.HwmKiB <= BudgetMiB * 1024 && podAtEnd is not { OomKills: > 0 } ? "yes" : "no")} |");
        return 0;
    }

    private static Process Start(Uri broker, string work, string replay, int heapPercent, Dictionary<string, string> extra, ClusterApiServer? api, bool memoryLimit)
    {
        var settings = ServiceLauncher.BusSettings(broker);
        settings["Egressd:Http:Port"] = "19212";
        settings["Egressd:Collector:NodeName"] = Node;
        settings["Egressd:Collector:Source"] = "replay";
        settings["Egressd:Collector:ReplayFile"] = replay;
        settings["Egressd:Collector:ReplayLoop"] = "true";
        settings["Egressd:Collector:ReadInterval"] = "00:00:00.100";
        settings["Egressd:Collector:StateDirectory"] = Path.Combine(work, "state");
        settings["Egressd:ClusterContext:Source"] = api is null ? "none" : "kubernetes";
        return ServiceLauncher.Start("collector", "Egressd.Collector", BudgetMiB, heapPercent, settings, extra, api is null ? null : (api.ServiceAccount, api.Port), memoryLimit);
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static double Metric(string text, string series)
    {
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>The memory lines of /proc/PID/status, in KiB, and the major page faults so far (/proc/PID/stat).</summary>
    private readonly record struct Status(long RssKiB, long HwmKiB, long AnonKiB, long FileKiB, long ShmemKiB, long MajorFaults)
    {
        public static Status Read(int pid)
        {
            var values = File.ReadLines($"/proc/{pid}/status")
                .Select(l => l.Split(':', 2))
                .Where(kv => kv.Length == 2 && kv[0] is "VmRSS" or "VmHWM" or "RssAnon" or "RssFile" or "RssShmem")
                .ToDictionary(kv => kv[0], kv => long.Parse(kv[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
            // majflt is the tenth field after the command's name, which is in parentheses and may hold spaces.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var majorFaults = long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[9], CultureInfo.InvariantCulture);
            return new Status(values["VmRSS"], values["VmHWM"], values["RssAnon"], values["RssFile"], values["RssShmem"], majorFaults);
        }
    }

    /// <summary>The enricher's side of the bus: a quorum queue on the collected exchange, drained and acknowledged.</summary>
    private sealed class Drain : IAsyncDisposable
    {
        private readonly IConnection connection;
        private readonly IChannel channel;
        private long messages;
        private long bytes;

        private Drain(IConnection connection, IChannel channel)
        {
            this.connection = connection;
            this.channel = channel;
        }

        public long Messages => Interlocked.Read(ref messages);

        public long Bytes => Interlocked.Read(ref bytes);

        public static async Task<Drain> StartAsync(Uri broker)
        {
            var connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync();
            var channel = await connection.CreateChannelAsync();
            var queue = $"egressd-bench-colmem-{Guid.NewGuid():N}";
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" });
            await channel.ExchangeDeclareAsync("Egressd.Contracts:FlowBatchCollected", ExchangeType.Fanout, durable: true);
            await channel.QueueBindAsync(queue, "Egressd.Contracts:FlowBatchCollected", "");
            await channel.BasicQosAsync(0, 16, false);
            var drain = new Drain(connection, channel);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                Interlocked.Increment(ref drain.messages);
                Interlocked.Add(ref drain.bytes, delivery.Body.Length);
                await channel.BasicAckAsync(delivery.DeliveryTag, false);
            };
            await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
            return drain;
        }

        public async ValueTask DisposeAsync()
        {
            await channel.CloseAsync();
            await connection.CloseAsync();
        }
    }
}
