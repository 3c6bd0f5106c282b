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
    private const string Node = "node-0";
    private const int Nodes = 45;
    private const int HttpPort = 19212;

    public static async Task<int> RunAsync(string[] args)
    {
        var run = Run.Parse(args);
        await using var shared = await Shared.StartAsync(run.InPod, run.Pods);
        Console.WriteLine(run.Describe(shared.Api));
        var result = await MeasureAsync(run, shared);
        Console.WriteLine();
        Console.WriteLine("| figure | value |");
        Console.WriteLine("|---|---|");
        foreach (var (figure, value) in result.Rows)
        {
            Console.WriteLine($"| {figure} | {value} |");
        }

        Console.WriteLine($"| within the {run.BudgetMiB} MiB budget | {(result.HwmKiB <= run.BudgetMiB * 1024 && !result.OomKilled ? "yes" : "no")} |");
        return 0;
    }

    /// <summary>What runs beside the collector and can serve several runs: the broker, the enricher's queue drained, the API server.</summary>
    internal sealed class Shared : IAsyncDisposable
    {
        private readonly WorkDirectory work;

        private Shared(WorkDirectory work, Broker broker, Drain drain, ClusterApiServer? api)
        {
            this.work = work;
            Broker = broker;
            Drain = drain;
            Api = api;
        }

        public Broker Broker { get; }

        public Drain Drain { get; }

        public ClusterApiServer? Api { get; }

        public string Directory => work.Path;

        public static async Task<Shared> StartAsync(bool inPod, int pods)
        {
            var work = WorkDirectory.Create("egressd-bench-colmem-");
            var broker = await Broker.StartAsync();
            var drain = await Drain.StartAsync(broker.Address);
            var api = inPod ? await ClusterApiServer.StartAsync(Path.Combine(work.Path, "serviceaccount"), pods, Nodes) : null;
            return new Shared(work, broker, drain, api);
        }

        public async ValueTask DisposeAsync()
        {
            if (Api is not null)
            {
                await Api.DisposeAsync();
            }

            await Drain.DisposeAsync();
            await Broker.DisposeAsync();
            work.Dispose();
        }
    }

    /// <summary>One run's settings, from the command line (<c>--flows</c>, <c>--interval</c> in milliseconds, ...).</summary>
    internal sealed record Run(
        int Flows,
        int Pods,
        int Seconds,
        int WarmupSeconds,
        int IntervalMs,
        int HeapPercent,
        long BudgetMiB,
        bool InPod,
        bool MemoryLimit,
        string? Build,
        IReadOnlyDictionary<string, string> Environment)
    {
        public static Run Parse(string[] args) => new(
            Option(args, "--flows", 250_000),
            Option(args, "--pods", 5000),
            Option(args, "--seconds", 40),
            Option(args, "--warmup", 10),
            Option(args, "--interval", 100),
            Option(args, "--heap-percent", 75),
            Option(args, "--budget", 128),
            !(Array.IndexOf(args, "--cluster") is var at && at >= 0 && at + 1 < args.Length && args[at + 1] == "none"),
            !(Array.IndexOf(args, "--memory-limit") is var limitAt && limitAt >= 0 && limitAt + 1 < args.Length && args[limitAt + 1] == "none"),
            Array.IndexOf(args, "--build") is var buildAt && buildAt >= 0 && buildAt + 1 < args.Length ? Path.GetFullPath(args[buildAt + 1]) : null,
            Environments(args));

        public static Dictionary<string, string> Environments(string[] args) =>
            args.Select((a, i) => (a, i)).Where(x => x.a == "--env" && x.i + 1 < args.Length)
                .Select(x => args[x.i + 1].Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);

        public string Describe(ClusterApiServer? api) =>
            $"Collector memory: {Flows:N0} distinct flows changing at every {IntervalMs:N0} ms read, {Pods:N0} source pods, parts of {FlowsPerPart:N0}; " +
            $"budget {BudgetMiB} MiB" + (MemoryLimit ? " as its memory cgroup's limit" : " (no memory limit)") + $", heap capped at {HeapPercent} %, workstation GC; " +
            (api is null ? "no cluster context; " : $"watching its node's {(Pods + Nodes - 1) / Nodes} pods over TLS with a service account; ") +
            "DNS capture on; " + (Build is null ? "Release build; " : $"build {Build}; ") +
            $"{Seconds} s from /readyz, CPU over the last {Seconds - WarmupSeconds} s; {System.Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}." +
            (Environment.Count > 0 ? " Environment: " + string.Join(' ', Environment.Select(kv => $"{kv.Key}={kv.Value}")) + "." : "");
    }

    /// <summary>What a run measured: its peak RSS, whether its pod was killed, and the report's rows.</summary>
    internal sealed record Result(long HwmKiB, double CpuPercent, double ReadySeconds, bool OomKilled, IReadOnlyList<(string Figure, string Value)> Rows);

    /// <summary>Starts the collector, waits for /readyz, samples it for the run's seconds and stops it.</summary>
    internal static async Task<Result> MeasureAsync(Run run, Shared shared)
    {
        var replay = Path.Combine(shared.Directory, $"replay-{run.Flows}-{run.Pods}.jsonl");
        if (!File.Exists(replay))
        {
            ReplayRecording.Write(replay, run.Flows, run.Pods);
        }

        var drainedBefore = shared.Drain.Messages;
        var bytesBefore = shared.Drain.Bytes;
        var requestsBefore = shared.Api?.Requests ?? 0;
        var watch = Stopwatch.StartNew();
        var collector = Start(shared.Broker.Address, shared.Directory, replay, run, shared.Api);
        var pod = ServiceLauncher.Memory(collector);
        var samples = new List<(double At, Status Status)>();
        long unreclaimable = 0, faultsHalfway = 0;
        double windows, parts, ready;
        Status last;
        Status? warm = null;
        double warmAt = 0;
        PodMemoryStats? podAtEnd;
        try
        {
            // The run's seconds, its warm-up and its CPU count from /readyz: a start slowed by a
            // loaded machine must not leave less steady state to measure.
            ready = await ReadyAsync(collector, watch);
            while (watch.Elapsed.TotalSeconds < ready + run.Seconds)
            {
                if (collector.HasExited)
                {
                    throw new InvalidOperationException($"the collector exited with code {collector.ExitCode} after {watch.Elapsed.TotalSeconds:F0} s:\n{ServiceLauncher.Tail(collector)}");
                }

                var status = Status.Read(collector.Id);
                samples.Add((watch.Elapsed.TotalSeconds, status));
                faultsHalfway = watch.Elapsed.TotalSeconds < ready + run.Seconds / 2.0 ? status.MajorFaults : faultsHalfway;
                if (warm is null && watch.Elapsed.TotalSeconds >= ready + run.WarmupSeconds)
                {
                    (warm, warmAt) = (status, watch.Elapsed.TotalSeconds);
                }

                if (pod?.Read() is { } now)
                {
                    unreclaimable = Math.Max(unreclaimable, now.UnreclaimableMiB);
                }

                await Task.Delay(100);
            }

            using var http = new HttpClient();
            var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{HttpPort}/metrics"));
            windows = Metric(metrics, "egressd_collector_windows_published_total");
            parts = Metric(metrics, "egressd_collector_batches_published_total");
            last = Status.Read(collector.Id);
            podAtEnd = pod?.Read();
        }
        finally
        {
            await ServiceLauncher.StopAsync(collector);
        }

        var measured = watch.Elapsed.TotalSeconds - warmAt;
        var cpu = warm is { } w ? (last.CpuTicks - w.CpuTicks) / (double)TicksPerSecond / measured * 100 : double.NaN;
        var drained = shared.Drain.Messages - drainedBefore;
        var bytes = shared.Drain.Bytes - bytesBefore;
        var peakAt = samples.MaxBy(s => s.Status.RssKiB);
        var rows = new List<(string, string)>
        {
            ("**peak RSS (VmHWM)**", $"**{last.HwmKiB / 1024.0:F0} MiB**"),
            ("CPU, % of a core (from the warm-up's end, counted from /readyz)", $"{cpu:F2} %"),
            ("start to /readyz", $"{ready:F2} s"),
            ("largest sampled RSS: anonymous + file + shared memory", $"{peakAt.Status.RssKiB / 1024.0:F0} MiB: {peakAt.Status.AnonKiB / 1024.0:F0} + {peakAt.Status.FileKiB / 1024.0:F0} + {peakAt.Status.ShmemKiB / 1024.0:F0} MiB (at {peakAt.At:F0} s)"),
            ("RSS at the end", $"{last.RssKiB / 1024.0:F0} MiB ({last.AnonKiB / 1024.0:F0} anonymous)"),
            ("windows / parts confirmed", $"{windows:N0} / {parts:N0} ({windows / run.Seconds:F2} windows/s, {drained:N0} messages drained)"),
            ("requests to the API server", shared.Api is null ? "none (no cluster context)" : (shared.Api.Requests - requestsBefore).ToString(CultureInfo.InvariantCulture)),
            ("bytes per flow on the bus", $"{(drained == 0 || parts == 0 ? 0 : bytes / (parts * FlowsPerPart)):F1}"),
            ("RSS every 5 s (MiB)", string.Join(" ", samples.Where((_, i) => i % 50 == 49).Select(s => (s.Status.RssKiB / 1024).ToString(CultureInfo.InvariantCulture)))),
        };
        if (podAtEnd is { } end)
        {
            rows.Add(($"pod's memory cgroup ({run.BudgetMiB} MiB limit): peak charge, of it anonymous and shared at most", $"{end.PeakMiB} MiB, {unreclaimable} MiB"));
            rows.Add(("limit reached (page cache reclaimed) / OOM kills", $"{end.LimitReached:N0} / {end.OomKills}"));
        }

        rows.Add(("major page faults (pages read from disk), all / second half of the run from /readyz", $"{last.MajorFaults:N0} / {last.MajorFaults - faultsHalfway:N0}"));
        return new Result(last.HwmKiB, cpu, ready, podAtEnd is { OomKills: > 0 }, rows);
    }

    /// <summary>Seconds from the start until /readyz answers 200.</summary>
    private static async Task<double> ReadyAsync(Process collector, Stopwatch watch)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        while (watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (collector.HasExited)
            {
                throw new InvalidOperationException($"the collector exited with code {collector.ExitCode} before it was ready:\n{ServiceLauncher.Tail(collector)}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}/readyz"));
                if (response.IsSuccessStatusCode)
                {
                    return watch.Elapsed.TotalSeconds;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Listening, not answering yet.
            }

            await Task.Delay(10);
        }

        throw new InvalidOperationException($"the collector was not ready after 60 s:\n{ServiceLauncher.Tail(collector)}");
    }

    /// <summary>USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux build that matters.</summary>
    private const int TicksPerSecond = 100;

    private static Process Start(Uri broker, string work, string replay, Run run, ClusterApiServer? api)
    {
        var settings = ServiceLauncher.BusSettings(broker);
        settings["Egressd:Http:Port"] = HttpPort.ToString(CultureInfo.InvariantCulture);
        settings["Egressd:Collector:NodeName"] = Node;
        settings["Egressd:Collector:Source"] = "replay";
        settings["Egressd:Collector:ReplayFile"] = replay;
        settings["Egressd:Collector:ReplayLoop"] = "true";
        settings["Egressd:Collector:ReadInterval"] = TimeSpan.FromMilliseconds(run.IntervalMs).ToString("c", CultureInfo.InvariantCulture);
        // A run of its own: a checkpoint left by an earlier run would be a restart.
        settings["Egressd:Collector:StateDirectory"] = Path.Combine(work, $"state-{Guid.NewGuid():N}");
        settings["Egressd:ClusterContext:Source"] = api is null ? "none" : "kubernetes";
        return ServiceLauncher.Start("collector", "Egressd.Collector", run.BudgetMiB, run.HeapPercent, settings, run.Environment, api is null ? null : (api.ServiceAccount, api.Port), run.MemoryLimit, run.Build);
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

    /// <summary>The memory lines of /proc/PID/status, in KiB, and the major page faults and CPU time (user + system, in ticks) so far (/proc/PID/stat).</summary>
    private readonly record struct Status(long RssKiB, long HwmKiB, long AnonKiB, long FileKiB, long ShmemKiB, long MajorFaults, long CpuTicks)
    {
        public static Status Read(int pid)
        {
            var values = File.ReadLines($"/proc/{pid}/status")
                .Select(l => l.Split(':', 2))
                .Where(kv => kv.Length == 2 && kv[0] is "VmRSS" or "VmHWM" or "RssAnon" or "RssFile" or "RssShmem")
                .ToDictionary(kv => kv[0], kv => long.Parse(kv[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
            // majflt is the tenth field after the command's name, which is in parentheses and may hold spaces.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var majorFaults = long.Parse(fields[9], CultureInfo.InvariantCulture);
            var cpu = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return new Status(values["VmRSS"], values["VmHWM"], values["RssAnon"], values["RssFile"], values["RssShmem"], majorFaults, cpu);
        }
    }

    /// <summary>The enricher's side of the bus: a quorum queue on the collected exchange, drained and acknowledged.</summary>
    internal sealed class Drain : IAsyncDisposable
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
