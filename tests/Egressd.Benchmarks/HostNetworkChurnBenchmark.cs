using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Egressd.Tests.Infrastructure;

namespace Egressd.Benchmarks;

/// <summary>
/// hostNetwork attribution under churn: a process in a kubelet-like pod cgroup of the node's network
/// namespace opens and closes short TCP connections as fast as it can, beside a long transfer from
/// another pod's socket, while egressd (all-in-one, its own process, the normal read interval) reads.
/// nftables counters on the node's output and input hooks are the truth the flow log's totals must
/// equal; the flow log tells how much of each went to its pod, and the process's CPU time per read
/// is compared with a run of the same load with attribution off.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static partial class HostNetworkChurnBenchmark
{
    private const string NodeIp = "10.244.1.1";
    private const string ChurnUid = "3a7c1e90-5b2d-4f6e-8a1c-9d0e2f4b6a81";
    private const string AgentUid = "1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10";
    private const int ChurnPort = 9500;
    private const int LongPort = 9501;
    private const int ChurnUpload = 1_000;
    private const int ChurnDownload = 4_000;

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = Option(args, "--seconds", 30);
        var interval = Option(args, "--interval", 5);
        var clients = Option(args, "--clients", 2);
        var longRate = Option(args, "--long-kib-per-second", 2048);
        var rounds = Option(args, "--rounds", 1);
        // 0 measures attribution as it was before the new-event lookups (the read's socket dump alone).
        var newEvents = Option(args, "--new-events", 1) != 0;
        var results = new List<(bool Attribution, Figures Figures)>();
        for (var round = 0; round < rounds; round++)
        {
            // Off first, then on, so neither always runs on a machine warmed by the other.
            foreach (var attribution in round % 2 == 0 ? new[] { false, true } : [true, false])
            {
                var figures = await RunOnceAsync(attribution, seconds, interval, clients, longRate, newEvents);
                Console.WriteLine($"attribution {(attribution ? "on" : "off")}: {figures}");
                results.Add((attribution, figures));
            }
        }

        var on = results.Where(r => r.Attribution).Select(r => r.Figures).ToList();
        var off = results.Where(r => !r.Attribution).Select(r => r.Figures).ToList();
        var failed = on.Any(f => !f.TotalsEqual);
        double M(IEnumerable<double> values) => Measure.Median(values);
        Console.WriteLine();
        Console.WriteLine($"| figure ({seconds} s of load, reads every {interval} s, {clients} churning clients, median of {rounds}, new-event lookups {(newEvents ? "on" : "off")}) | attribution off | attribution on |");
        Console.WriteLine("| --- | --- | --- |");
        Console.WriteLine($"| short connections per second (1 kB up, 4 kB down each) | {M(off.Select(f => f.ConnectionsPerSecond)):N0} | {M(on.Select(f => f.ConnectionsPerSecond)):N0} |");
        Console.WriteLine($"| host-network bytes counted by nftables (short + long) | {M(off.Select(f => (double)f.KernelBytes)) / 1048576:F1} MiB | {M(on.Select(f => (double)f.KernelBytes)) / 1048576:F1} MiB |");
        Console.WriteLine($"| flow log totals equal the kernel's | not reported (attribution off) | {(failed ? "**no**" : "yes")} ({on.Count(f => f.TotalsEqual)} of {on.Count}) |");
        Console.WriteLine($"| long transfer's bytes attributed to its pod | | {M(on.Select(f => f.LongShare)) * 100:F2} % |");
        Console.WriteLine($"| short connections' bytes attributed to their pod | | {M(on.Select(f => f.ChurnShare)) * 100:F2} % |");
        Console.WriteLine($"| all host-network bytes attributed to a pod (`outcome=\"pod\"`) | | {M(on.Select(f => f.PodShare)) * 100:F2} % |");
        Console.WriteLine($"| ... `node` / `unresolved` | | {M(on.Select(f => f.NodeShare)) * 100:F2} % / {M(on.Select(f => f.UnresolvedShare)) * 100:F2} % |");
        Console.WriteLine($"| egressd CPU per read (all-in-one process, during load) | {M(off.Select(f => f.CpuPerRead)) * 1000:F0} ms | {M(on.Select(f => f.CpuPerRead)) * 1000:F0} ms |");
        Console.WriteLine($"| socket dump per read (`refresh_duration_seconds`, mean) | | {M(on.Select(f => f.RefreshSeconds)) * 1000:F1} ms |");
        return failed ? 1 : 0;
    }

    private sealed record Figures(
        double ConnectionsPerSecond,
        ulong KernelBytes,
        bool TotalsEqual,
        double LongShare,
        double ChurnShare,
        double PodShare,
        double NodeShare,
        double UnresolvedShare,
        double CpuPerRead,
        double RefreshSeconds,
        string Detail)
    {
        public override string ToString() =>
            string.Create(CultureInfo.InvariantCulture, $"{ConnectionsPerSecond:N0} conn/s, kernel {KernelBytes:N0} B, totals equal {TotalsEqual}, long {LongShare:P2}, short {ChurnShare:P2}, pod {PodShare:P2}, node {NodeShare:P2}, unresolved {UnresolvedShare:P2}, CPU/read {CpuPerRead * 1000:F0} ms; {Detail}");
    }

    private static async Task<Figures> RunOnceAsync(bool attribution, int seconds, int interval, int clients, int longRate, bool newEvents)
    {
        using var lab = new NetnsLab();
        using var cgroups = new CgroupLab(lab.Id);
        var churner = cgroups.Create($"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{ChurnUid.Replace('-', '_')}.slice/cri-containerd-5e8a0b.scope");
        var agent = cgroups.Create($"kubepods/besteffort/pod{AgentUid}/crio-9c1d2e.scope");
        var inventory = LabInventory.Write(
            lab,
            new { @namespace = "monitoring", name = "churner-q8r2t", node = lab.Node, ips = new[] { NodeIp }, hostNetwork = true, uid = ChurnUid, workloadKind = "DaemonSet", workloadName = "churner" },
            new { @namespace = "monitoring", name = "agent-x7k2p", node = lab.Node, ips = new[] { NodeIp }, hostNetwork = true, uid = AgentUid, workloadKind = "DaemonSet", workloadName = "agent" });

        // The truth: every packet between the node's address and the two servers, both ways, as it
        // leaves or enters the node (after conntrack, which counts the same IP bytes).
        lab.Exec("node", "nft", "add table inet egb");
        lab.Exec("node", "nft", "add chain inet egb out { type filter hook output priority 0 ; }");
        lab.Exec("node", "nft", "add chain inet egb in { type filter hook input priority 0 ; }");
        foreach (var (name, serverPort) in new[] { ("churn", ChurnPort), ("long", LongPort) })
        {
            lab.Exec("node", "nft", "add", "counter", "inet", "egb", name);
            lab.Exec("node", "nft", $"add rule inet egb out ip saddr {NodeIp} tcp dport {serverPort} counter name {name}");
            lab.Exec("node", "nft", $"add rule inet egb in ip daddr {NodeIp} tcp sport {serverPort} counter name {name}");
        }

        var flowLog = Path.Combine(Path.GetTempPath(), $"egressd-churn-{lab.Id}.jsonl");
        var state = Path.Combine(Path.GetTempPath(), $"egressd-churn-state-{lab.Id}");
        var port = 46071;
        var dll = Path.Combine(Repo.Root, "services", "local", "bin", "Release", "net10.0", "Egressd.Local.dll");
        var start = new ProcessStartInfo("dotnet", [dll]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in new Dictionary<string, string>
        {
            ["Bus:Transport"] = "inmemory",
            ["Collector:Source"] = "netfilter",
            ["Collector:Netns"] = lab.NodePath,
            ["Collector:NodeName"] = lab.Node,
            ["Collector:ReadInterval"] = TimeSpan.FromSeconds(interval).ToString(),
            ["Collector:StateDirectory"] = state,
            ["Collector:CgroupRoot"] = cgroups.Root,
            ["Collector:HostNetworkAttribution"] = attribution ? "true" : "false",
            ["Collector:HostNetworkNewEvents"] = newEvents ? "true" : "false",
            ["ClusterContext:Source"] = "Inventory",
            ["Inventory:File"] = inventory,
            ["Exporter:FlowLog:Path"] = flowLog,
            ["Http:Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["Http:BindAddress"] = "127.0.0.1",
        })
        {
            start.Environment["Egressd__" + key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        using var process = Process.Start(start)!;
        var tail = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Keep(string? line)
        {
            if (line is not null)
            {
                tail.Enqueue(line);
                while (tail.Count > 20 && tail.TryDequeue(out _))
                {
                }
            }
        }

        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient();
        var servers = new CancellationTokenSource();
        Process? churn = null;
        try
        {
            // A connection open at the first read is its baseline: the load starts after it.
            var checkpoint = Path.Combine(state, "conntrack.checkpoint");
            await Until(() => Task.FromResult(File.Exists(checkpoint)), TimeSpan.FromSeconds(60), () => "egressd never completed its first read:\n" + string.Join('\n', tail));

            var churnServer = Serve(lab, "c", ChurnPort, ChurnUpload, ChurnDownload, servers.Token);
            var longServer = Serve(lab, "ext", LongPort, int.MaxValue, 0, servers.Token);
            using var longClient = cgroups.Inside(agent, () =>
            {
                var s = lab.SocketIn("node", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Bind(new IPEndPoint(IPAddress.Parse(NodeIp), 0));
                return s;
            });
            await longClient.ConnectAsync(new IPEndPoint(IPAddress.Parse(NetnsLab.V4("ext")), LongPort));

            var readsBefore = await ReadsAsync(http, port);
            var cpuBefore = CpuSeconds(process.Id);
            churn = StartChurn(lab, cgroups, churner, clients, seconds);
            var watch = Stopwatch.StartNew();
            var chunk = new byte[16 * 1024];
            while (watch.Elapsed.TotalSeconds < seconds)
            {
                // The long transfer at a steady rate, alive across every read.
                var due = (long)(watch.Elapsed.TotalSeconds * longRate * 1024);
                for (var sent = 0L; sent < due - LongSent; sent += chunk.Length)
                {
                    LongSent += await longClient.SendAsync(chunk);
                }

                await Task.Delay(20);
            }

            var output = await churn.StandardOutput.ReadToEndAsync();
            await churn.WaitForExitAsync();
            var connections = long.Parse(output.Trim(), CultureInfo.InvariantCulture);
            var cpu = CpuSeconds(process.Id) - cpuBefore;
            var reads = await ReadsAsync(http, port) - readsBefore;
            longClient.Shutdown(SocketShutdown.Both);
            longClient.Close();

            var kernel = (Churn: lab.ReadCounterBytes("churn"), Long: lab.ReadCounterBytes("long"));
            var kernelTotal = kernel.Churn + kernel.Long;
            var totalsEqual = false;
            (ulong Pod, ulong Other) churnLog = default, longLog = default;
            if (attribution)
            {
                // Closed connections' last bytes come with the next reads (TIME_WAIT entries, destroy events).
                var deadline = DateTime.UtcNow.AddSeconds(Math.Max(60, interval * 6));
                while (DateTime.UtcNow < deadline)
                {
                    (churnLog, longLog) = Published(flowLog, lab.Node);
                    totalsEqual = churnLog.Pod + churnLog.Other == kernel.Churn && longLog.Pod + longLog.Other == kernel.Long;
                    if (totalsEqual)
                    {
                        break;
                    }

                    await Task.Delay(500);
                }
            }

            var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            double Metric(string name) => Sample().Matches(metrics).Where(m => m.Groups[1].Value == name).Select(m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Sum();
            var pod = Metric("egressd_collector_host_network_bytes_total{outcome=\"pod\"}");
            var node = Metric("egressd_collector_host_network_bytes_total{outcome=\"node\"}");
            var unresolved = Metric("egressd_collector_host_network_bytes_total{outcome=\"unresolved\"}");
            var all = Math.Max(1, pod + node + unresolved);
            var refreshCount = Metric("egressd_collector_host_network_refresh_duration_seconds_count");
            var refresh = refreshCount > 0 ? Metric("egressd_collector_host_network_refresh_duration_seconds_sum") / refreshCount : 0;
            servers.Cancel();
            await Task.WhenAll(churnServer, longServer).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
            return new Figures(
                connections / (double)seconds,
                kernelTotal,
                totalsEqual,
                kernel.Long == 0 ? 0 : longLog.Pod / (double)kernel.Long,
                kernel.Churn == 0 ? 0 : churnLog.Pod / (double)kernel.Churn,
                pod / all,
                node / all,
                unresolved / all,
                reads == 0 ? double.NaN : cpu / reads,
                refresh,
                string.Create(CultureInfo.InvariantCulture, $"{reads} reads, kernel short {kernel.Churn:N0} long {kernel.Long:N0}, flow log short {churnLog.Pod:N0}+{churnLog.Other:N0} long {longLog.Pod:N0}+{longLog.Other:N0}, metric pod {pod:N0} node {node:N0} unresolved {unresolved:N0}"));
        }
        finally
        {
            LongSent = 0;
            servers.Cancel();
            if (churn is { HasExited: false })
            {
                churn.Kill(entireProcessTree: true);
            }

            churn?.Dispose();
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            File.Delete(flowLog);
            if (Directory.Exists(state))
            {
                Directory.Delete(state, recursive: true);
            }
        }
    }

    private static long LongSent { get; set; }

    /// <summary>Sums the flow log's node-address lines to each server: bytes to a pod, and the rest (the node's).</summary>
    private static ((ulong Pod, ulong Other) Churn, (ulong Pod, ulong Other) Long) Published(string flowLog, string node)
    {
        (ulong Pod, ulong Other) churn = default, transfer = default;
        if (!File.Exists(flowLog))
        {
            return (churn, transfer);
        }

        using var stream = new FileStream(flowLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var text = reader.ReadToEnd();
        foreach (var line in text.Split('\n'))
        {
            // A last line still being written (no newline yet) is left for the next poll.
            if (line.Length == 0 || !text.Contains(line + "\n", StringComparison.Ordinal))
            {
                continue;
            }

            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            if (root.GetProperty("node").GetString() != node || root.GetProperty("src_ip").GetString() != NodeIp)
            {
                continue;
            }

            var bytes = root.GetProperty("tx_bytes").GetUInt64() + root.GetProperty("rx_bytes").GetUInt64();
            var toPod = root.TryGetProperty("src_pod", out var pod) && pod.ValueKind == JsonValueKind.String;
            var destination = root.GetProperty("dst_ip").GetString();
            ref var target = ref destination == NetnsLab.V4("c") ? ref churn : ref transfer;
            if (destination != NetnsLab.V4("c") && destination != NetnsLab.V4("ext"))
            {
                continue;
            }

            target = toPod ? (target.Pod + bytes, target.Other) : (target.Pod, target.Other + bytes);
        }

        return (churn, transfer);
    }

    /// <summary>
    /// The churning pod: a Python process that joins the pod's cgroup, enters the node's namespace
    /// and runs <paramref name="clients"/> processes of connect (from the node's address), send,
    /// receive, close for <paramref name="seconds"/>; it prints how many connections completed.
    /// </summary>
    private static Process StartChurn(NetnsLab lab, CgroupLab cgroups, string cgroup, int clients, int seconds)
    {
        // Processes, not threads: one interpreter runs one thread at a time. Children stay in the
        // pod's cgroup and the node's namespace.
        var script = $$"""
            import os, socket, time
            end = time.time() + {{seconds}}
            payload = b'x' * {{ChurnUpload}}
            def run(w):
                count = 0
                while time.time() < end:
                    s = socket.socket()
                    s.bind(('{{NodeIp}}', 0))
                    s.connect(('{{NetnsLab.V4("c")}}', {{ChurnPort}}))
                    s.sendall(payload)
                    got = 0
                    while got < {{ChurnDownload}}:
                        d = s.recv(65536)
                        if not d:
                            break
                        got += len(d)
                    s.close()
                    count += 1
                os.write(w, b'%d\n' % count)
            r, w = os.pipe()
            for i in range({{clients}}):
                if os.fork() == 0:
                    try:
                        run(w)
                    finally:
                        os._exit(0)
            os.close(w)
            for i in range({{clients}}):
                os.wait()
            print(sum(int(x) for x in os.fdopen(r).read().split()))
            """;
        var file = Path.Combine(Path.GetTempPath(), $"egressd-churn-{lab.Id}.py");
        File.WriteAllText(file, script);
        var procs = Path.Join(cgroups.Root, cgroups.Base, cgroup, "cgroup.procs");
        var start = new ProcessStartInfo("sh", ["-c", "echo $$ > \"$0\" && exec ip netns exec \"$1\" python3 \"$2\"", procs, lab.Node, file])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        };
        return Process.Start(start)!;
    }

    /// <summary>A server in <paramref name="host"/>: per connection, takes <paramref name="upload"/> bytes, answers <paramref name="download"/>, then waits for the client to close.</summary>
    private static Task Serve(NetnsLab lab, string host, int port, int upload, int download, CancellationToken cancel)
    {
        var listener = lab.SocketIn(host, AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Any, port));
        listener.Listen(4096);
        return Task.Run(async () =>
        {
            using var owned = listener;
            var answer = new byte[Math.Max(1, download)];
            try
            {
                while (!cancel.IsCancellationRequested)
                {
                    var accepted = await listener.AcceptAsync(cancel);
                    _ = Task.Run(async () =>
                    {
                        using var socket = accepted;
                        var buffer = new byte[64 * 1024];
                        try
                        {
                            for (var got = 0; got < upload;)
                            {
                                var n = await socket.ReceiveAsync(buffer, cancel);
                                if (n == 0)
                                {
                                    return;
                                }

                                got += n;
                            }

                            if (download > 0)
                            {
                                await socket.SendAsync(answer, cancel);
                            }

                            // The client closes first (its side keeps the TIME_WAIT, as a client's does).
                            while (await socket.ReceiveAsync(buffer, cancel) > 0)
                            {
                            }
                        }
                        catch (Exception e) when (e is SocketException or OperationCanceledException)
                        {
                        }
                    }, CancellationToken.None);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
    }

    private static async Task<double> ReadsAsync(HttpClient http, int port)
    {
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        return Sample().Matches(metrics).Where(m => m.Groups[1].Value == "egressd_collector_read_duration_seconds_count")
            .Select(m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Sum();
    }

    /// <summary>User plus system CPU time of a process so far (/proc/PID/stat, clock ticks of 1/100 s).</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static async Task Until(Func<Task<bool>> condition, TimeSpan patience, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(failure());
            }

            await Task.Delay(200);
        }
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    [GeneratedRegex(@"^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$", RegexOptions.Multiline)]
    private static partial Regex Sample();

    [GeneratedRegex(@"bytes (\d+)")]
    private static partial Regex CounterBytes();

    private static ulong ReadCounterBytes(this NetnsLab lab, string name) =>
        ulong.Parse(CounterBytes().Match(lab.Exec("node", "nft", "list", "counter", "inet", "egb", name)).Groups[1].Value, CultureInfo.InvariantCulture);
}
