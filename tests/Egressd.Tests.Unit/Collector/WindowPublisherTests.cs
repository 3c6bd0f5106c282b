using Egressd.Collector.Flows;
using Egressd.Contracts;
using Egressd.Shared.Wire;
using Egressd.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Egressd.Tests.Collector;

public sealed class WindowPublisherTests
{
    /// <summary>Hands out one prepared reading per read, then nothing.</summary>
    private sealed class QueueReader(params (FlowKey Key, FlowCounters Counters)[][] readings) : IFlowReader
    {
        private int next;

        public PendingFlows Pending { get; init; } = new();

        public FlowSource Source => FlowSource.Replay;

        public ValueTask ReadAsync(CancellationToken cancellationToken)
        {
            foreach (var (key, counters) in next < readings.Length ? readings[next++] : [])
            {
                Pending.Add(key, counters);
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Records every attempt; fails while <see cref="Down"/> is set, like a broker that is away.</summary>
    private sealed class RecordingPublisher : IBatchPublisher
    {
        public bool Down { get; set; }

        public List<EncodedFlowBatch> Attempts { get; } = [];

        /// <summary>The parts confirmed, decoded as the enricher receives them.</summary>
        public List<FlowBatchCollected> Confirmed { get; } = [];

        public Task PublishAsync(EncodedFlowBatch part, CancellationToken cancellationToken)
        {
            Attempts.Add(part);
            if (Down)
            {
                throw new TimeoutException("broker away");
            }

            Confirmed.Add(part.Decode());
            return Task.CompletedTask;
        }
    }

    private static (FlowKey, FlowCounters) Flow(string dst, ulong tx) =>
        (new FlowKey(IpAddr.Parse("10.0.0.1"), IpAddr.Parse(dst), IpAddr.None, 6), new FlowCounters(tx, tx * 2, 1, 1));

    private static (FlowKey, FlowCounters)[] Reading(params (FlowKey, FlowCounters)[] flows) => flows;

    private static WindowPublisher Windows(QueueReader reader, IBatchPublisher publisher, int maxFlowsPerPart, CollectorMetrics? metrics = null) =>
        new(reader, reader.Pending, publisher, TimeProvider.System, "node-a", maxFlowsPerPart, NullLogger.Instance, metrics ?? TestMetrics.Collector());

    [Fact]
    public async Task Failed_window_is_resent_unchanged_and_later_reads_fold_into_the_next_window()
    {
        var reader = new QueueReader(
            Reading(Flow("10.0.0.2", 100)),
            Reading(Flow("10.0.0.2", 10), Flow("10.0.0.3", 5)),
            Reading(Flow("10.0.0.2", 1)),
            Reading());
        var publisher = new RecordingPublisher { Down = true };
        var windows = Windows(reader, publisher, 100);

        await windows.RunCycleAsync(CancellationToken.None);
        await windows.RunCycleAsync(CancellationToken.None);
        Assert.Equal(2, publisher.Attempts.Count);
        Assert.Same(publisher.Attempts[0], publisher.Attempts[1]);
        Assert.Equal(publisher.Attempts[0].Header.Id, publisher.Attempts[1].Header.Id);

        publisher.Down = false;
        await windows.RunCycleAsync(CancellationToken.None);
        await windows.RunCycleAsync(CancellationToken.None);

        Assert.Equal(2, publisher.Confirmed.Count);
        var first = publisher.Confirmed[0];
        var second = publisher.Confirmed[1];
        Assert.Equal(1, first.Header.Id.Window);
        Assert.Equal(100UL, Assert.Single(first.Flows).TxBytes);
        Assert.Equal(2, second.Header.Id.Window);
        Assert.Equal(11UL, second.Flows.Single(f => f.DestinationIp == IpAddr.Parse("10.0.0.2")).TxBytes);
        Assert.Equal(22UL, second.Flows.Single(f => f.DestinationIp == IpAddr.Parse("10.0.0.2")).RxBytes);
        Assert.Equal(5UL, second.Flows.Single(f => f.DestinationIp == IpAddr.Parse("10.0.0.3")).TxBytes);
        // Every id was used for one content only.
        Assert.All(publisher.Attempts.GroupBy(a => a.Header.Id), g => Assert.All(g, a => Assert.Same(g.First(), a)));
        Assert.Equal(0, windows.PendingKeyCount);
    }

    [Fact]
    public async Task Large_window_is_cut_into_parts_that_share_the_window_and_each_have_an_id()
    {
        var flows = Enumerable.Range(1, 25).Select(i => Flow($"10.0.1.{i}", (ulong)i)).ToArray();
        var publisher = new RecordingPublisher();
        var windows = Windows(new QueueReader(Reading(flows)), publisher, 10);

        await windows.RunCycleAsync(CancellationToken.None);

        Assert.Equal(3, publisher.Confirmed.Count);
        Assert.Equal([10, 10, 5], publisher.Confirmed.Select(p => p.Flows.Count));
        Assert.Equal([0, 1, 2], publisher.Confirmed.Select(p => p.Header.Id.Part));
        Assert.All(publisher.Confirmed, p => Assert.Equal(3, p.Header.Id.PartCount));
        Assert.Single(publisher.Confirmed.Select(p => p.Header.Id.Window).Distinct());
        Assert.Equal(flows.Sum(f => (long)f.Item2.TxBytes), publisher.Confirmed.SelectMany(p => p.Flows).Sum(f => (long)f.TxBytes));
    }

    [Fact]
    public async Task Partly_sent_window_resends_only_the_parts_not_confirmed()
    {
        var flows = Enumerable.Range(1, 4).Select(i => Flow($"10.0.1.{i}", 1)).ToArray();
        var publisher = new FailingAfter(1);
        var windows = Windows(new QueueReader(Reading(flows)), publisher, 2);

        await windows.RunCycleAsync(CancellationToken.None);
        publisher.Limit = int.MaxValue;
        await windows.RunCycleAsync(CancellationToken.None);

        Assert.Equal([0, 1], publisher.Confirmed.Select(p => p.Header.Id.Part));
    }

    [Fact]
    public async Task Broker_outage_with_ever_new_keys_holds_the_cap_and_keeps_every_byte()
    {
        // Ten reads of 1,000 keys never seen before (a scan of public addresses, v4 and v6), plus one key present from the start.
        const int Cap = 1_000;
        var known = Flow("10.0.0.9", 7);
        var readings = Enumerable.Range(0, 10).Select(r => Enumerable.Range(0, 1_000)
            .Select(i => (new FlowKey(
                IpAddr.Parse($"10.0.0.{1 + (i % 4)}"),
                i % 2 == 0 ? IpAddr.Parse($"198.18.{r * 10 + (i / 256)}.{i % 256}") : IpAddr.Parse($"2001:db8:{r}:{i}::1"),
                IpAddr.Parse("10.96.0.1"),
                (byte)(i % 3 == 0 ? 17 : 6)), new FlowCounters((ulong)i + 1, 3, 1, 1)))
            .Prepend(known)
            .ToArray()).ToArray();
        var metrics = TestMetrics.Collector();
        var reader = new QueueReader(readings) { Pending = new PendingFlows(Cap, metrics) };
        var publisher = new RecordingPublisher { Down = true };
        var windows = Windows(reader, publisher, 500, metrics);

        // The first reading holds one key more than the cap: one fold, frozen with its window.
        await windows.RunCycleAsync(CancellationToken.None);
        Assert.Equal(1, metrics.FoldedDeltas.Value);
        for (var i = 1; i < readings.Length; i++)
        {
            await windows.RunCycleAsync(CancellationToken.None);
            Assert.InRange(reader.Pending.KeyCount, 0, (Cap * 5 / 4) + 512);
        }

        // The window stays frozen while the broker is down: every later fold is still pending.
        Assert.True(reader.Pending.FoldedDeltas > 0);
        Assert.Equal(1 + reader.Pending.FoldedDeltas, metrics.FoldedDeltas.Value);

        publisher.Down = false;
        await windows.RunCycleAsync(CancellationToken.None);
        await windows.RunCycleAsync(CancellationToken.None);
        Assert.Equal(0, windows.PendingKeyCount);

        var sent = publisher.Confirmed.SelectMany(p => p.Flows).ToList();
        var input = readings.SelectMany(r => r).ToList();
        Assert.Equal(input.Sum(f => (decimal)f.Item2.TxBytes), sent.Sum(f => (decimal)f.TxBytes));
        Assert.Equal(input.Sum(f => (decimal)f.Item2.RxBytes), sent.Sum(f => (decimal)f.RxBytes));
        Assert.Equal(input.Sum(f => (decimal)f.Item2.TxPackets), sent.Sum(f => (decimal)f.TxPackets));
        // A key kept before the cap was reached stays in full detail in every window.
        Assert.All(publisher.Confirmed.GroupBy(p => p.Header.Id.Window), w => Assert.Single(w.SelectMany(p => p.Flows), f => f.DestinationIp == IpAddr.Parse("10.0.0.9")));
        // The first keys past the cap keep their destination's network; later ones only their source.
        Assert.Contains(sent, f => f.DestinationIp == IpAddr.Parse("198.18.20.0") && f.OriginalDestinationIp is null);
        Assert.Contains(sent, f => f.DestinationIp == IpAddr.Parse("2001:db8:2:1::") && f.OriginalDestinationIp is null);
        Assert.Contains(sent, f => f.DestinationIp == IpAddr.Parse("0.0.0.0"));
        Assert.Contains(sent, f => f.DestinationIp == IpAddr.Parse("::"));
    }

    [Fact]
    public void Keys_past_the_cap_fold_step_by_step_into_coarser_destinations()
    {
        var pending = new PendingFlows(1_000);
        var one = new FlowCounters(10, 20, 1, 1);
        for (var i = 0; i < 1_000; i++)
        {
            pending.Add(new FlowKey(IpAddr.Parse("10.0.0.1"), IpAddr.FromV4(0xC612_0000u + (uint)i), IpAddr.None, 6), one);
        }

        // Full: a new key goes to its destination's /24 (v4) or /64 (v6), without the original destination.
        pending.Add(new FlowKey(IpAddr.Parse("10.0.0.1"), IpAddr.Parse("203.0.113.77"), IpAddr.Parse("10.96.0.1"), 6), one);
        pending.Add(new FlowKey(IpAddr.Parse("fd00::1"), IpAddr.Parse("2001:db8:1:2:3:4:5:6"), IpAddr.None, 17), one);
        Assert.Equal(one, pending.Flows[new FlowKey(IpAddr.Parse("10.0.0.1"), IpAddr.Parse("203.0.113.0"), IpAddr.None, 6)]);
        Assert.Equal(one, pending.Flows[new FlowKey(IpAddr.Parse("fd00::1"), IpAddr.Parse("2001:db8:1:2::"), IpAddr.None, 17)]);
        Assert.Equal(2, pending.FoldedDeltas);
        Assert.Equal(60UL, pending.FoldedBytes);

        // An eighth more: the destination goes; a quarter more: the source too.
        for (var i = 0; pending.KeyCount < 1_125; i++)
        {
            pending.Add(new FlowKey(IpAddr.Parse("10.0.0.1"), IpAddr.FromV4(0x0A01_0000u + ((uint)i << 8)), IpAddr.None, 6), one);
        }

        pending.Add(new FlowKey(IpAddr.Parse("10.0.0.2"), IpAddr.Parse("192.0.2.1"), IpAddr.None, 6), one);
        Assert.True(pending.Flows.ContainsKey(new FlowKey(IpAddr.Parse("10.0.0.2"), IpAddr.Parse("0.0.0.0"), IpAddr.None, 6)));
        for (var i = 3; pending.KeyCount < 1_250; i++)
        {
            pending.Add(new FlowKey(IpAddr.FromV4(0x0A00_0000u + (uint)i), IpAddr.Parse("192.0.2.1"), IpAddr.None, 6), one);
        }

        var total = pending.Flows.Values.Aggregate(default(FlowCounters), (a, b) => a.Add(b));
        for (var i = 0; i < 10_000; i++)
        {
            pending.Add(new FlowKey(IpAddr.FromV4(0x0B00_0000u + (uint)i), IpAddr.FromV4(0x0C00_0000u + (uint)i), IpAddr.None, (byte)(i % 256)), one);
        }

        Assert.InRange(pending.KeyCount, 1_250, 1_250 + 256);
        Assert.Equal(total.TxBytes + (10_000UL * 10), pending.Flows.Values.Aggregate(default(FlowCounters), (a, b) => a.Add(b)).TxBytes);
        // Protocol 0 came 40 times in those 10,000 (i = 0, 256, ..., 9984).
        Assert.Equal(new FlowCounters(400, 800, 40, 40), pending.Flows[new FlowKey(IpAddr.Parse("0.0.0.0"), IpAddr.Parse("0.0.0.0"), IpAddr.None, 0)]);
    }

    [Fact]
    public async Task A_frozen_window_is_held_encoded_and_every_resend_is_the_same_bytes_under_the_same_id()
    {
        var flows = Enumerable.Range(1, 25).Select(i => Flow($"10.0.1.{i}", (ulong)i))
            .Append((new FlowKey(IpAddr.Parse("fd00::1"), IpAddr.Parse("2001:db8::7"), IpAddr.Parse("fd00:96::1"), 17), new FlowCounters(9, 8, 7, 6)))
            .ToArray();
        var publisher = new RecordingPublisher { Down = true };
        var windows = Windows(new QueueReader(Reading(flows), Reading(Flow("10.0.9.9", 1))), publisher, 10);

        await windows.RunCycleAsync(CancellationToken.None);
        await windows.RunCycleAsync(CancellationToken.None);
        publisher.Down = false;
        await windows.RunCycleAsync(CancellationToken.None);
        await windows.RunCycleAsync(CancellationToken.None);

        // Three parts of window 1, the first tried twice while the broker was away, then all sent; then window 2.
        var first = publisher.Attempts.Where(a => a.Header.Id.Window == 1).ToList();
        Assert.Equal([0, 0, 0, 1, 2], first.Select(a => a.Header.Id.Part));
        Assert.Same(first[0], first[1]);
        Assert.Same(first[0], first[2]);
        // The body is the part itself: decoded, it is the same window, id and count of flows.
        foreach (var part in first.Skip(2))
        {
            var decoded = part.Decode();
            Assert.Equal(part.Header, decoded.Header);
            Assert.Equal(part.FlowCount, decoded.Flows.Count);
        }

        var sent = publisher.Confirmed.Where(p => p.Header.Id.Window == 1).SelectMany(p => p.Flows).ToList();
        Assert.Equal(flows.Length, sent.Count);
        Assert.Equal(flows.Sum(f => (long)f.Item2.TxBytes), sent.Sum(f => (long)f.TxBytes));
        Assert.Contains(sent, f => f.OriginalDestinationIp == IpAddr.Parse("fd00:96::1") && f.RxPackets == 6);
        Assert.Equal(2, publisher.Confirmed[^1].Header.Id.Window);
    }

    [Fact]
    public void Pending_flows_keep_every_kind_of_key_apart_and_whole()
    {
        var pending = new PendingFlows();
        FlowKey[] keys =
        [
            new(IpAddr.Parse("10.0.0.1"), IpAddr.Parse("10.0.0.2"), IpAddr.None, 6),
            new(IpAddr.Parse("10.0.0.1"), IpAddr.Parse("10.0.0.2"), IpAddr.Parse("0.0.0.0"), 6),
            new(IpAddr.Parse("10.0.0.1"), IpAddr.Parse("10.0.0.2"), IpAddr.Parse("10.96.0.1"), 6),
            new(IpAddr.Parse("10.0.0.1"), IpAddr.Parse("10.0.0.2"), IpAddr.None, 17),
            new(IpAddr.Parse("0.0.0.0"), IpAddr.Parse("0.0.0.0"), IpAddr.None, 0),
            new(IpAddr.Parse("10.0.0.1"), IpAddr.Parse("2001:db8::1"), IpAddr.None, 6),
            new(IpAddr.Parse("10.0.0.1"), IpAddr.Parse("10.0.0.2"), IpAddr.Parse("fd00::1"), 6),
            new(IpAddr.Parse("fd00::1"), IpAddr.Parse("::"), IpAddr.None, 58),
        ];
        for (var round = 1; round <= 3; round++)
        {
            for (var i = 0; i < keys.Length; i++)
            {
                pending.Add(keys[i], new FlowCounters((ulong)i + 1, 1, 1, 1));
            }
        }

        Assert.Equal(keys.Length, pending.KeyCount);
        Assert.Equal(keys.ToHashSet(), pending.Flows.Keys.ToHashSet());
        for (var i = 0; i < keys.Length; i++)
        {
            Assert.Equal(new FlowCounters(3 * ((ulong)i + 1), 3, 3, 3), pending.Flows[keys[i]]);
        }

        var window = pending.FreezeEncoded("node", "boot", 1, FlowSource.Netfilter, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 3);
        Assert.Equal(0, pending.KeyCount);
        Assert.Equal([3, 3, 2], window.Select(p => p.FlowCount));
        var flows = window.SelectMany(p => p.Decode().Flows).ToList();
        Assert.Equal(keys.Length, flows.Count);
        Assert.Contains(flows, f => f.DestinationIp == IpAddr.Parse("10.0.0.2") && f.OriginalDestinationIp == IpAddr.Parse("0.0.0.0"));
        Assert.Single(flows, f => f.DestinationIp == IpAddr.Parse("10.0.0.2") && f.OriginalDestinationIp is null && f.Protocol == 6);
    }

    [Fact]
    public async Task Empty_reads_publish_nothing()
    {
        var publisher = new RecordingPublisher();
        var windows = Windows(new QueueReader(), publisher, 10);
        await windows.RunCycleAsync(CancellationToken.None);
        Assert.Empty(publisher.Attempts);
    }

    private sealed class FailingAfter(int limit) : IBatchPublisher
    {
        public int Limit { get; set; } = limit;

        public List<FlowBatchCollected> Confirmed { get; } = [];

        public Task PublishAsync(EncodedFlowBatch part, CancellationToken cancellationToken)
        {
            if (Confirmed.Count >= Limit)
            {
                throw new TimeoutException("broker away");
            }

            Confirmed.Add(part.Decode());
            return Task.CompletedTask;
        }
    }
}
