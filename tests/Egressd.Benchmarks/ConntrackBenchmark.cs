using System.Diagnostics;
using System.Runtime.InteropServices;
using Egressd.Collector.Flows;
using Egressd.Collector.Netfilter;
using Egressd.Collector.Pods;
using Egressd.Contracts;
using Egressd.Shared.Network;

namespace Egressd.Benchmarks;

/// <summary>
/// One steady-state read cycle of the collector (dump + parse + reduce) against `conntrack -L`
/// on the same table, the kernel's bare dump, allocation per entry, and the collector's RSS.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class ConntrackBenchmark
{
    private const int Rounds = 7;

    public static async Task<int> RunAsync(string[] args)
    {
        var entries = Option(args, "--entries", 100_000);
        var rssEntries = Option(args, "--rss-entries", 250_000);
        var ns = $"egb-{Guid.NewGuid().ToString("N")[..6]}";
        var path = $"/run/netns/{ns}";
        Measure.Run("ip", "netns", "add", ns);
        try
        {
            Measure.Run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1");
            var load = Load(ns, 0, entries);
            Console.WriteLine($"Loaded {entries:N0} entries into {ns} with conntrack -R in {load:F2} s");

            var pods = new SourcePods(entries);
            var reducer = new ConntrackReducer(pods, new PublicAddresses(CidrSet.Parse(["10.0.0.0/8"])), groupPublicDestinations: false, new PendingFlows());
            using var conntrack = new NetfilterConntrack(path);
            for (var i = 0; i < 3; i++)
            {
                Cycle(conntrack, reducer);
            }

            if (reducer.DumpedEntries != entries)
            {
                throw new InvalidOperationException($"dumped {reducer.DumpedEntries} entries, loaded {entries}");
            }

            var cli = new List<double>();
            var raw = new List<double>();
            var cycle = new List<double>();
            var allocated = new List<double>();
            for (var round = 0; round < Rounds; round++)
            {
                cli.Add(Measure.Seconds(() => Measure.Run("ip", "netns", "exec", ns, "sh", "-c", "conntrack -L > /dev/null 2>&1")));
                raw.Add(Measure.Seconds(() => RawDump(path)));
                var before = GC.GetAllocatedBytesForCurrentThread();
                cycle.Add(Measure.Seconds(() => Cycle(conntrack, reducer)));
                allocated.Add((GC.GetAllocatedBytesForCurrentThread() - before) / (double)entries);
            }

            var cliMedian = Measure.Median(cli);
            var rawMedian = Measure.Median(raw);
            var cycleMedian = Measure.Median(cycle);
            var rss = await CollectorRssAsync(ns, path, entries, rssEntries);

            Console.WriteLine();
            Console.WriteLine($"| figure ({entries:N0} entries, median of {Rounds}, interleaved) | value | ratio to `conntrack -L` |");
            Console.WriteLine("| --- | --- | --- |");
            Console.WriteLine($"| `conntrack -L > /dev/null` | {cliMedian * 1000:F0} ms | 1.00 |");
            Console.WriteLine($"| kernel dump only (netlink receive, no parsing) | {rawMedian * 1000:F0} ms | {rawMedian / cliMedian:F2} |");
            Console.WriteLine($"| collector read cycle (dump + parse + reduce) | {cycleMedian * 1000:F0} ms | {cycleMedian / cliMedian:F2} |");
            Console.WriteLine($"| allocated per entry per cycle | {Measure.Median(allocated):F1} B | |");
            Console.WriteLine($"| collector RSS at {rssEntries:N0} entries (after 5 reads; peak) | {rss.Current / 1048576.0:F0} MiB (peak {rss.Peak / 1048576.0:F0} MiB) | |");
            return 0;
        }
        finally
        {
            Measure.Run("ip", "netns", "del", ns);
        }
    }

    private static void Cycle(NetfilterConntrack conntrack, ConntrackReducer reducer)
    {
        reducer.BeginDump();
        conntrack.Dump(reducer);
        reducer.EndDump();
        reducer.Pending.Freeze("node", "boot", 1, FlowSource.Netfilter, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 5000);
    }

    /// <summary>The kernel's side alone: request the dump and receive every datagram, reading nothing but the end marker.</summary>
    private static void RawDump(string path)
    {
        using var socket = NetlinkSocket.Open(12, 0, path, 4 << 20);
        var buffer = GC.AllocateUninitializedArray<byte>(1 << 20, pinned: true);
        foreach (var family in new byte[] { 0 })
        {
            var request = new byte[20];
            MemoryMarshal.Write(request, 20u);
            MemoryMarshal.Write(request.AsSpan(4), (ushort)0x0101);
            MemoryMarshal.Write(request.AsSpan(6), (ushort)0x301);
            request[16] = family;
            socket.Send(request);
            while (true)
            {
                var n = socket.Receive(buffer);
                // The last message of a datagram is NLMSG_DONE (type 3) when the dump is over.
                var offset = 0;
                var done = false;
                while (offset + 16 <= n)
                {
                    var length = MemoryMarshal.Read<int>(buffer.AsSpan(offset));
                    done |= MemoryMarshal.Read<ushort>(buffer.AsSpan(offset + 4)) == 3;
                    offset += (length + 3) & ~3;
                    if (length < 16)
                    {
                        break;
                    }
                }

                if (done || n == 0)
                {
                    break;
                }
            }
        }
    }

    private static async Task<(long Current, long Peak)> CollectorRssAsync(string ns, string path, int loaded, int target)
    {
        if (target > loaded)
        {
            Load(ns, loaded, target - loaded);
        }

        var dll = Path.Combine(Repo.Root, "services", "collector", "bin", "Release", "net10.0", "Egressd.Collector.dll");
        var port = 46061;
        var start = new ProcessStartInfo("dotnet", [dll]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["Egressd__Collector__Source"] = "netfilter";
        start.Environment["Egressd__Collector__Netns"] = path;
        start.Environment["Egressd__Collector__ReadInterval"] = "00:00:01";
        start.Environment["Egressd__ClusterContext__Source"] = "None";
        start.Environment["Egressd__Http__Port"] = port.ToString();
        start.Environment["Egressd__Http__BindAddress"] = "127.0.0.1";
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient();
            var reads = 0;
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (reads < 5 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(1000);
                try
                {
                    var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
                    var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("egressd_conntrack_entries ", StringComparison.Ordinal));
                    if (line is not null && double.Parse(line.Split(' ')[1]) >= target)
                    {
                        reads++;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
            }

            if (reads < 5)
            {
                throw new InvalidOperationException("the collector never read the whole table");
            }

            var status = File.ReadAllLines($"/proc/{process.Id}/status");
            long Kb(string key) => long.Parse(status.Single(l => l.StartsWith(key, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            return (Kb("VmRSS:"), Kb("VmHWM:"));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Loads <paramref name="count"/> established TCP entries, numbered from <paramref name="first"/>.</summary>
    private static double Load(string ns, int first, int count)
    {
        var file = Path.GetTempFileName();
        using (var writer = new StreamWriter(file))
        {
            for (var i = first; i < first + count; i++)
            {
                writer.WriteLine($"-I -s {Source(i)} -d 10.200.{(i >> 16) & 255}.1 -p tcp --sport {1024 + (i % 60000)} --dport 443 --state ESTABLISHED --timeout 7200 -u ASSURED");
            }
        }

        try
        {
            return Measure.Seconds(() => Measure.Run("ip", "netns", "exec", ns, "conntrack", "-R", file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string Source(int i) => $"10.{1 + ((i >> 16) & 63)}.{(i >> 8) & 255}.{i & 255}";

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1]) : fallback;
    }

    /// <summary>Every loaded source address is a pod of this node: the most work per entry.</summary>
    private sealed class SourcePods : ILocalPods
    {
        private readonly HashSet<IpAddr> addresses;

        public SourcePods(int count) => addresses = [.. Enumerable.Range(0, count).Select(i => IpAddr.Parse(Source(i)))];

        public string Description => "benchmark";

        public bool Contains(IpAddr address) => addresses.Contains(address);
    }
}
