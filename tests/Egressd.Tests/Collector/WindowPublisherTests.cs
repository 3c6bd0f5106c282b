using Egressd.Collector.Flows;
using Egressd.Contracts;
using Microsoft.Extensions.Logging.Abstractions;

namespace Egressd.Tests.Collector;

public sealed class WindowPublisherTests
{
    /// <summary>Hands out one prepared reading per read, then nothing.</summary>
    private sealed class QueueReader(params (FlowKey Key, FlowCounters Counters)[][] readings) : IFlowReader
    {
        private int next;

        public PendingFlows Pending { get; } = new();

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

        public List<FlowBatchCollected> Attempts { get; } = [];

        public List<FlowBatchCollected> Confirmed { get; } = [];

        public Task PublishAsync(FlowBatchCollected batch, CancellationToken cancellationToken)
        {
            Attempts.Add(batch);
            if (Down)
            {
                throw new TimeoutException("broker away");
            }

            Confirmed.Add(batch);
            return Task.CompletedTask;
        }
    }

    private static (FlowKey, FlowCounters) Flow(string dst, ulong tx) =>
        (new FlowKey(IpAddr.Parse("10.0.0.1"), IpAddr.Parse(dst), IpAddr.None, 6), new FlowCounters(tx, tx * 2, 1, 1));

    private static (FlowKey, FlowCounters)[] Reading(params (FlowKey, FlowCounters)[] flows) => flows;

    private static WindowPublisher Windows(QueueReader reader, IBatchPublisher publisher, int maxFlowsPerPart) =>
        new(reader, reader.Pending, publisher, TimeProvider.System, "node-a", maxFlowsPerPart, NullLogger.Instance);

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
        Assert.Equal(publisher.Attempts[0], publisher.Attempts[1]);
        Assert.Equal(publisher.Attempts[0].Id, publisher.Attempts[1].Id);

        publisher.Down = false;
        await windows.RunCycleAsync(CancellationToken.None);
        await windows.RunCycleAsync(CancellationToken.None);

        Assert.Equal(2, publisher.Confirmed.Count);
        var first = publisher.Confirmed[0];
        var second = publisher.Confirmed[1];
        Assert.Equal(1, first.Id.Window);
        Assert.Equal(100UL, Assert.Single(first.Flows).TxBytes);
        Assert.Equal(2, second.Id.Window);
        Assert.Equal(11UL, second.Flows.Single(f => f.DestinationIp == IpAddr.Parse("10.0.0.2")).TxBytes);
        Assert.Equal(22UL, second.Flows.Single(f => f.DestinationIp == IpAddr.Parse("10.0.0.2")).RxBytes);
        Assert.Equal(5UL, second.Flows.Single(f => f.DestinationIp == IpAddr.Parse("10.0.0.3")).TxBytes);
        // Every id was used for one content only.
        Assert.All(publisher.Attempts.GroupBy(a => a.Id), g => Assert.All(g, a => Assert.Same(g.First(), a)));
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
        Assert.Equal([0, 1, 2], publisher.Confirmed.Select(p => p.Id.Part));
        Assert.All(publisher.Confirmed, p => Assert.Equal(3, p.Id.PartCount));
        Assert.Single(publisher.Confirmed.Select(p => p.Id.Window).Distinct());
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

        Assert.Equal([0, 1], publisher.Confirmed.Select(p => p.Id.Part));
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

        public Task PublishAsync(FlowBatchCollected batch, CancellationToken cancellationToken)
        {
            if (Confirmed.Count >= Limit)
            {
                throw new TimeoutException("broker away");
            }

            Confirmed.Add(batch);
            return Task.CompletedTask;
        }
    }
}
