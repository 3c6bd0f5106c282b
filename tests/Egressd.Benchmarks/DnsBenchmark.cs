using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using ARSoft.Tools.Net.Dns;
using Egressd.Collector.Dns;
using Egressd.Collector.Native;
using Egressd.Contracts;
using Prometheus;

namespace Egressd.Benchmarks;

/// <summary>
/// The collector's DNS path. First the parser alone against ARSoft.Tools.Net on the same
/// responses, interleaved. Then the real path: a sender in one network namespace sends responses
/// from port 53 over a veth pair as fast as it can, the collector's capture socket (AF_PACKET,
/// BPF filter) and processor run on one thread in the other, and that thread's own CPU time
/// (/proc/thread-self/schedstat) gives responses per CPU-second; then a paced run at 10,000
/// responses/s measures its CPU directly. Last, the map's memory at 100,000 addresses.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class DnsBenchmark
{
    private const int Rounds = 7;
    private const int Distinct = 1_000;

    public static int Run(string[] args)
    {
        var seconds = args.SkipWhile(a => a != "--seconds").Skip(1).Select(int.Parse).FirstOrDefault(5);
        var messages = Enumerable.Range(0, Distinct).Select(Response).ToArray();
        var packets = messages.Select(UdpPacket).ToArray();

        ParserRounds(messages, packets);
        var id = Guid.NewGuid().ToString("N")[..6];
        var (sender, capture) = ($"egb-dns-{id}-s", $"egb-dns-{id}-c");
        try
        {
            Lab(sender, capture);
            Console.WriteLine();
            Console.WriteLine("| capture + parse, one thread | flat out | paced 10,000/s |");
            Console.WriteLine("| --- | --- | --- |");
            var flat = Capture(sender, capture, messages, TimeSpan.FromSeconds(seconds), rate: 0);
            var paced = Capture(sender, capture, messages, TimeSpan.FromSeconds(seconds), rate: 10_000);
            Console.WriteLine($"| responses sent by the other namespace | {flat.Sent:N0} | {paced.Sent:N0} |");
            Console.WriteLine($"| responses captured and parsed | {flat.Processed:N0} ({flat.Processed / flat.Wall:N0}/s) | {paced.Processed:N0} ({paced.Processed / paced.Wall:N0}/s) |");
            Console.WriteLine($"| kernel drops (socket buffer full) | {flat.Drops:N0} | {paced.Drops:N0} |");
            Console.WriteLine($"| capture thread CPU | {flat.Cpu:F2} s of {flat.Wall:F2} s | {paced.Cpu:F2} s of {paced.Wall:F2} s |");
            Console.WriteLine($"| **responses per CPU-second** (one core's capacity) | **{flat.Processed / flat.Cpu:N0}** | {paced.Processed / paced.Cpu:N0} |");
            Console.WriteLine($"| CPU per 10,000 responses/s | {10_000 / (flat.Processed / flat.Cpu) * 100:F1} % of a core | **{paced.Cpu / paced.Wall * 100 * (10_000 / (paced.Processed / paced.Wall)):F1} % of a core** |");
        }
        finally
        {
            Measure.Run("ip", "netns", "del", sender);
            Measure.Run("ip", "netns", "del", capture);
        }

        MapMemory();
        return 0;
    }

    private static void ParserRounds(byte[][] messages, byte[][] packets)
    {
        const int loops = 200;
        var ours = new List<double>();
        var arsoft = new List<double>();
        double oursAlloc = 0, arsoftAlloc = 0;
        var records = new List<DnsAnswerRecord>();
        var processor = new DnsResponseProcessor(new DnsAnswerMap(100_000, TimeSpan.FromMinutes(1), TimeSpan.FromHours(1)), new DnsAnswerInbox(1_000_000), TimeProvider.System, new DnsMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())));
        long sink = 0;
        for (var round = 0; round <= Rounds; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            for (var l = 0; l < loops; l++)
            {
                foreach (var packet in packets)
                {
                    processor.Process(packet);
                }
            }

            var oursSeconds = watch.Elapsed.TotalSeconds;
            var oursBytes = GC.GetAllocatedBytesForCurrentThread() - before;

            before = GC.GetAllocatedBytesForCurrentThread();
            watch.Restart();
            for (var l = 0; l < loops; l++)
            {
                foreach (var message in messages)
                {
                    // The same work: every address with its owner name, every alias's target.
                    var parsed = DnsMessage.Parse(new ArraySegment<byte>(message));
                    foreach (var record in parsed.AnswerRecords)
                    {
                        sink += record switch
                        {
                            ARecord a => a.Name.ToString().Length + a.Address.GetHashCode(),
                            AaaaRecord a => a.Name.ToString().Length + a.Address.GetHashCode(),
                            CNameRecord c => c.Name.ToString().Length + c.CanonicalName.ToString().Length,
                            _ => 0,
                        };
                    }
                }
            }

            var arsoftSeconds = watch.Elapsed.TotalSeconds;
            var arsoftBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            if (round == 0)
            {
                continue; // warm-up
            }

            ours.Add(oursSeconds);
            arsoft.Add(arsoftSeconds);
            oursAlloc = oursBytes / (double)(loops * messages.Length);
            arsoftAlloc = arsoftBytes / (double)(loops * messages.Length);
        }

        var n = loops * messages.Length;
        Console.WriteLine($"Parsing {n:N0} responses (CNAME → A or AAAA, compressed, {messages.Average(m => m.Length):F0} bytes on average), median of {Rounds}; checksum {sink % 7}, {processor.Failures} failures");
        Console.WriteLine();
        Console.WriteLine("| parser | responses/s | allocated per response |");
        Console.WriteLine("| --- | --- | --- |");
        Console.WriteLine($"| egressd (packet → map, IP and UDP headers included) | {n / Measure.Median(ours):N0} | {oursAlloc:F0} B |");
        Console.WriteLine($"| ARSoft.Tools.Net `DnsMessage.Parse` (DNS payload only) | {n / Measure.Median(arsoft):N0} | {arsoftAlloc:F0} B |");
        Console.WriteLine($"| ratio | **{Measure.Median(arsoft) / Measure.Median(ours):F1}x** | |");
    }

    private static (long Sent, long Processed, long Drops, double Cpu, double Wall) Capture(string senderNs, string captureNs, byte[][] messages, TimeSpan duration, int rate)
    {
        using var socket = PacketSocket.Open($"/run/netns/{captureNs}", 16 << 20, TimeSpan.FromMilliseconds(100));
        var processor = new DnsResponseProcessor(new DnsAnswerMap(100_000, TimeSpan.FromMinutes(1), TimeSpan.FromHours(1)), new DnsAnswerInbox(1_000_000), TimeProvider.System, new DnsMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())));
        using var stop = new CancellationTokenSource();
        double cpu = 0, wall = 0;
        var capturing = new Thread(() =>
        {
            var buffer = new byte[DnsSocketFilter.SnapLength];
            var cpu0 = ThreadCpuSeconds();
            var watch = Stopwatch.StartNew();
            while (!stop.IsCancellationRequested)
            {
                var n = socket.Receive(buffer);
                if (n > 0)
                {
                    processor.Process(buffer.AsSpan(0, n));
                }
            }

            cpu = ThreadCpuSeconds() - cpu0;
            wall = watch.Elapsed.TotalSeconds;
        })
        { Name = "capture" };
        _ = socket.TakeDrops();
        capturing.Start();

        using var udp = NetworkNamespace.Run($"/run/netns/{senderNs}", () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        udp.Bind(new IPEndPoint(IPAddress.Parse("10.99.0.1"), 53));
        var target = new IPEndPoint(IPAddress.Parse("10.99.0.2"), 40000);
        long sent = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            if (rate > 0 && sent >= clock.Elapsed.TotalSeconds * rate)
            {
                Thread.Sleep(1);
                continue;
            }

            udp.SendTo(messages[sent % messages.Length], target);
            sent++;
        }

        // Let the capture drain what is queued, then stop it.
        SpinWait.SpinUntil(() => processor.Responses >= sent, TimeSpan.FromSeconds(2));

        stop.Cancel();
        capturing.Join();
        return (sent, processor.Responses, socket.TakeDrops(), cpu, wall);
    }

    private static void MapMemory()
    {
        var now = DateTimeOffset.UtcNow;
        var names = Enumerable.Range(0, 100_000).Select(i => $"host{i}.service.example.com").ToArray();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var map = new DnsAnswerMap(100_000, TimeSpan.FromMinutes(1), TimeSpan.FromHours(1));
        for (var i = 0; i < names.Length; i++)
        {
            map.Record(IpAddr.FromV4((uint)(0x0A000000 + i)), names[i], 300, now, out _);
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(map);
        Console.WriteLine();
        Console.WriteLine($"Address-to-name map at {map.Count:N0} addresses: {(after - before) / 1048576.0:F1} MiB without the names ({(after - before) / (double)map.Count:F0} B per address); names as parsed add about {names.Average(n => 22 + (2 * n.Length)):F0} B each");
    }

    private static void Lab(string sender, string capture)
    {
        Measure.Run("ip", "netns", "add", sender);
        Measure.Run("ip", "netns", "add", capture);
        Measure.Run("ip", "link", "add", "eth0", "netns", sender, "type", "veth", "peer", "name", "eth0", "netns", capture);
        Measure.Run("ip", "-n", sender, "addr", "add", "10.99.0.1/24", "dev", "eth0");
        Measure.Run("ip", "-n", capture, "addr", "add", "10.99.0.2/24", "dev", "eth0");
        Measure.Run("ip", "-n", sender, "link", "set", "eth0", "up");
        Measure.Run("ip", "-n", capture, "link", "set", "eth0", "up");
        Measure.Run("ip", "-n", sender, "link", "set", "lo", "up");
        Measure.Run("ip", "-n", capture, "link", "set", "lo", "up");
        // Nothing listens on the capturing side: drop at input rather than answer every packet with an ICMP error.
        Measure.Run("ip", "netns", "exec", capture, "nft", "add table inet egb; add chain inet egb in { type filter hook input priority 0; policy accept; }; add rule inet egb in udp dport 40000 drop");
    }

    private static byte[] Response(int i)
    {
        // www{i}.example.com → edge{i}.cdn.example.net → an address; compressed as a server writes it.
        var b = new List<byte>();
        void U16(int v) { b.Add((byte)(v >> 8)); b.Add((byte)v); }
        void Name(string s)
        {
            foreach (var label in s.Split('.'))
            {
                b.Add((byte)label.Length);
                b.AddRange(Encoding.ASCII.GetBytes(label));
            }

            b.Add(0);
        }

        U16(i);
        U16(0x8180);
        U16(1);
        U16(2);
        U16(0);
        U16(0);
        Name($"www{i}.example.com");
        U16(i % 2 == 0 ? 1 : 28);
        U16(1);
        U16(0xC00C);
        U16(5);
        U16(1);
        U16(0);
        U16(300);
        var lengthAt = b.Count;
        U16(0);
        var targetAt = b.Count;
        Name($"edge{i}.cdn.example.net");
        var length = b.Count - targetAt;
        b[lengthAt] = (byte)(length >> 8);
        b[lengthAt + 1] = (byte)length;
        U16(0xC000 | targetAt);
        U16(i % 2 == 0 ? 1 : 28);
        U16(1);
        U16(0);
        U16(60);
        if (i % 2 == 0)
        {
            U16(4);
            b.AddRange([203, 0, (byte)(i >> 8), (byte)i]);
        }
        else
        {
            U16(16);
            b.AddRange([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)(i >> 8), (byte)i]);
        }

        return [.. b];
    }

    private static byte[] UdpPacket(byte[] message)
    {
        var packet = new byte[28 + message.Length];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        packet[8] = 64;
        packet[9] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(20), 53);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(22), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(24), (ushort)(8 + message.Length));
        message.CopyTo(packet, 28);
        return packet;
    }

    // The calling thread's time on a CPU, in nanoseconds (schedstat's first field; needs schedstats, on by default).
    private static double ThreadCpuSeconds() =>
        long.Parse(File.ReadAllText("/proc/thread-self/schedstat").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1e9;
}
