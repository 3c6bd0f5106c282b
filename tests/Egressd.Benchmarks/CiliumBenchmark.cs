using System.Buffers.Binary;
using System.Runtime.Versioning;
using Egressd.Collector.Cilium;
using Egressd.Collector.Flows;
using Egressd.Collector.Pods;
using Egressd.Contracts;
using Egressd.Shared.Network;

namespace Egressd.Benchmarks;

/// <summary>
/// Cilium's map read both ways on the same map in the same run: BPF_MAP_LOOKUP_BATCH against
/// BPF_MAP_GET_NEXT_KEY plus a lookup per key, over a private bpf filesystem holding an LRU hash
/// map the size of Cilium's default global TCP map (524,288 slots).
/// </summary>
[SupportedOSPlatform("linux")]
internal static class CiliumBenchmark
{
    private const int Rounds = 7;
    private const uint Slots = 524_288;

    public static int Run(string[] args)
    {
        var entries = args.SkipWhile(a => a != "--entries").Skip(1).Select(int.Parse).FirstOrDefault(100_000);
        // Every n-th entry inbound (--inbound-every 2: half), so the IN entries' twin check is paid too.
        var inboundEvery = args.SkipWhile(a => a != "--inbound-every").Skip(1).Select(int.Parse).FirstOrDefault(0);
        var root = Directory.CreateTempSubdirectory("egb-bpffs-").FullName;
        Measure.Run("mount", "-t", "bpf", "bpf", root);
        var fd = -1;
        try
        {
            var globals = Path.Combine(root, CiliumConntrack.GlobalsDirectory);
            Directory.CreateDirectory(globals);
            fd = BpfSyscall.CreateMap(BpfSyscall.MapTypeLruHash, CiliumCtMap.KeySizeV4, CiliumCtMap.ValueSize, Slots, "cilium_ct4_global");
            BpfSyscall.Pin(fd, Path.Combine(globals, "cilium_ct4_global"));
            var clock = new CiliumClock(CiliumClockSource.Ktime);
            var fill = Measure.Seconds(() => Fill(fd, entries, clock.LifetimeIn(3600, CiliumClockSource.Ktime), inboundEvery));
            Console.WriteLine($"Filled {entries:N0} entries ({(inboundEvery > 0 ? entries / inboundEvery : 0):N0} inbound) into a {Slots:N0}-slot map in {fill:F2} s");

            var batch = new CiliumConntrack(root, CiliumCounterLayout.Split, clock);
            var perKey = new CiliumConntrack(root, CiliumCounterLayout.Split, clock);
            perKey.Maps[0].UseBatch = false;
            var pods = new SourcePods(entries);
            var batchReducer = new ConntrackReducer(pods, new PublicAddresses(CidrSet.Parse(["10.0.0.0/8"])), groupPublicDestinations: false, new PendingFlows());
            var perKeyReducer = new ConntrackReducer(pods, new PublicAddresses(CidrSet.Parse(["10.0.0.0/8"])), groupPublicDestinations: false, new PendingFlows());
            var sink = new NullSink();
            for (var i = 0; i < 3; i++)
            {
                batch.Dump(sink);
                perKey.Dump(sink);
                Cycle(batch, batchReducer);
                Cycle(perKey, perKeyReducer);
            }

            if (batch.Entries != entries || perKey.Entries != entries || batchReducer.DumpedEntries != entries)
            {
                throw new InvalidOperationException($"read {batch.Entries} (batch) and {perKey.Entries} (key by key) entries, filled {entries}");
            }

            var rawBatch = new List<double>();
            var rawPerKey = new List<double>();
            var noop = new NoopVisitor();
            var readBatch = new List<double>();
            var readPerKey = new List<double>();
            var cycleBatch = new List<double>();
            var cyclePerKey = new List<double>();
            var allocBatch = new List<double>();
            var allocPerKey = new List<double>();
            for (var round = 0; round < Rounds; round++)
            {
                rawBatch.Add(Measure.Seconds(() => batch.Maps[0].Read(noop)));
                rawPerKey.Add(Measure.Seconds(() => perKey.Maps[0].Read(noop)));
                readBatch.Add(Measure.Seconds(() => batch.Dump(sink)));
                readPerKey.Add(Measure.Seconds(() => perKey.Dump(sink)));
                var before = GC.GetAllocatedBytesForCurrentThread();
                cycleBatch.Add(Measure.Seconds(() => Cycle(batch, batchReducer)));
                allocBatch.Add((GC.GetAllocatedBytesForCurrentThread() - before) / (double)entries);
                before = GC.GetAllocatedBytesForCurrentThread();
                cyclePerKey.Add(Measure.Seconds(() => Cycle(perKey, perKeyReducer)));
                allocPerKey.Add((GC.GetAllocatedBytesForCurrentThread() - before) / (double)entries);
            }

            double rb = Measure.Median(readBatch), rk = Measure.Median(readPerKey), cb = Measure.Median(cycleBatch), ck = Measure.Median(cyclePerKey);
            Console.WriteLine();
            Console.WriteLine($"| figure ({entries:N0} entries in {Slots:N0} slots, median of {Rounds}, interleaved) | batch lookup | key by key | key by key / batch |");
            Console.WriteLine("| --- | --- | --- | --- |");
            double wb = Measure.Median(rawBatch), wk = Measure.Median(rawPerKey);
            Console.WriteLine($"| bpf(2) only (entries copied out, not decoded) | {wb * 1000:F1} ms ({wb * 1e6 / entries:F2} µs/entry) | {wk * 1000:F1} ms ({wk * 1e6 / entries:F2} µs/entry) | {wk / wb:F1} |");
            Console.WriteLine($"| map read (bpf(2) + decode to entries) | {rb * 1000:F1} ms ({rb * 1e6 / entries:F2} µs/entry) | {rk * 1000:F1} ms ({rk * 1e6 / entries:F2} µs/entry) | {rk / rb:F1} |");
            Console.WriteLine($"| collector read cycle (read + reduce + freeze) | {cb * 1000:F1} ms | {ck * 1000:F1} ms | {ck / cb:F1} |");
            Console.WriteLine($"| allocated per entry per cycle | {Measure.Median(allocBatch):F2} B | {Measure.Median(allocPerKey):F2} B | |");

            // Where the batched read's time goes: the same map read with chunks of other sizes
            // (fewer syscalls), and an empty map of the same size (the kernel's walk of every
            // bucket, with nothing to copy or decode), interleaved with the full read.
            var empty = BpfSyscall.CreateMap(BpfSyscall.MapTypeLruHash, CiliumCtMap.KeySizeV4, CiliumCtMap.ValueSize, Slots, "egb_empty");
            try
            {
                var emptyPath = Path.Combine(root, "egb_empty");
                BpfSyscall.Pin(empty, emptyPath);
                var emptyMap = new CiliumCtMap(emptyPath, ipv6: false);
                var emptyPerKey = new CiliumCtMap(emptyPath, ipv6: false) { UseBatch = false };
                int[] chunks = [1024, CiliumCtMap.DefaultChunkEntries, 16_384, 65_536];
                var byChunk = chunks.ToDictionary(c => c, _ => new List<double>());
                var walk = new List<double>();
                var walkPerKey = new List<double>();
                var map = batch.Maps[0];
                for (var round = 0; round < Rounds; round++)
                {
                    foreach (var c in chunks)
                    {
                        map.ChunkEntries = c;
                        byChunk[c].Add(Measure.Seconds(() => map.Read(noop)));
                    }

                    walk.Add(Measure.Seconds(() => emptyMap.Read(noop)));
                    walkPerKey.Add(Measure.Seconds(() => emptyPerKey.Read(noop)));
                }

                map.ChunkEntries = CiliumCtMap.DefaultChunkEntries;
                Console.WriteLine();
                Console.WriteLine($"| bpf(2) only, batch lookup, by chunk size (median of {Rounds}) | time | µs/entry | syscalls |");
                Console.WriteLine("| --- | --- | --- | --- |");
                foreach (var c in chunks)
                {
                    var t = Measure.Median(byChunk[c]);
                    Console.WriteLine($"| {c:N0} entries a call | {t * 1000:F1} ms | {t * 1e6 / entries:F2} | {(entries + c - 1) / c} |");
                }

                double e = Measure.Median(walk), ek = Measure.Median(walkPerKey);
                Console.WriteLine($"| empty map of {Slots:N0} slots, batch lookup (the bucket walk alone) | {e * 1000:F1} ms | {e * 1e6 / entries:F2} (per live entry of the full map) | 1 |");
                Console.WriteLine($"| empty map of {Slots:N0} slots, key by key | {ek * 1000:F1} ms | | 1 |");
            }
            finally
            {
                BpfSyscall.Close(empty);
            }

            return 0;
        }
        finally
        {
            BpfSyscall.Close(fd);
            Measure.Run("umount", root);
            Directory.Delete(root, recursive: true);
        }
    }

    private static void Cycle(CiliumConntrack conntrack, ConntrackReducer reducer)
    {
        reducer.BeginDump();
        conntrack.Dump(reducer);
        reducer.EndDump();
        reducer.Pending.Freeze("node", "boot", 1, FlowSource.Cilium, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 5000);
    }

    /// <summary>TCP entries of pods 10.x.y.z (outbound, or every n-th inbound) with separate counters that grow a little.</summary>
    private static void Fill(int fd, int entries, uint lifetime, int inboundEvery)
    {
        var key = new byte[CiliumCtMap.KeySizeV4];
        var value = new byte[CiliumCtMap.ValueSize];
        for (var i = 0; i < entries; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(key, (uint)(IpAddr.Parse(Source(i)).Lo & 0xFFFF_FFFF));
            BinaryPrimitives.WriteUInt32BigEndian(key.AsSpan(4), 0xC6120001); // 198.18.0.1
            BinaryPrimitives.WriteUInt16BigEndian(key.AsSpan(8), 443);
            BinaryPrimitives.WriteUInt16BigEndian(key.AsSpan(10), (ushort)(1024 + (i % 60000)));
            key[12] = 6;
            key[13] = (byte)(inboundEvery > 0 && i % inboundEvery == 0 ? 1 : 0);
            BinaryPrimitives.WriteUInt64LittleEndian(value, 10);
            BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(8), 5000);
            BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(16), 12);
            BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(24), 1500 + (ulong)i);
            BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(32), lifetime);
            BpfSyscall.Update(fd, key, value);
        }
    }

    private static string Source(int i) => $"10.{1 + ((i >> 16) & 63)}.{(i >> 8) & 255}.{i & 255}";

    private sealed class NoopVisitor : ICiliumEntryVisitor
    {
        public void OnEntry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
        }
    }

    private sealed class NullSink : IConntrackEntrySink
    {
        public void OnEntry(in ConntrackEntry entry)
        {
        }
    }

    /// <summary>Every source address is a pod of this node: the most work per entry.</summary>
    private sealed class SourcePods(int count) : ILocalPods
    {
        private readonly HashSet<IpAddr> addresses = [.. Enumerable.Range(0, count).Select(i => IpAddr.Parse(Source(i)))];

        public string Description => "benchmark";

        public bool Contains(IpAddr address) => addresses.Contains(address);
    }
}
