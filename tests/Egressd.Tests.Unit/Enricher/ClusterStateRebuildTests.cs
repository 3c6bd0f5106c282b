using Egressd.Contracts;
using Egressd.Enricher.Cluster;

namespace Egressd.Tests.Enricher;

/// <summary>
/// How often the enricher's cluster snapshot is rebuilt: spaced by the last rebuild's duration, so a
/// large churning cluster does not keep every consumer rebuilding, and as fresh as before when
/// rebuilds are quick.
/// </summary>
public sealed class ClusterStateRebuildTests
{
    /// <summary>A clock whose every rebuild seems to take <see cref="BuildTime"/>: wall time stands still unless advanced.</summary>
    private sealed class SlowBuildClock : TimeProvider
    {
        private long timestamp;

        public DateTimeOffset Now { get; set; } = new(2026, 12, 8, 0, 0, 0, TimeSpan.Zero);

        public TimeSpan BuildTime { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        // Called once before and once after each rebuild: each call is BuildTime after the last.
        public override long GetTimestamp() => timestamp += BuildTime.Ticks;
    }

    private static PodInfo Pod(string name, string ip) => new("shop", name, "node-a", [ip], false, DateTimeOffset.MinValue, null, null);

    private static bool Knows(ClusterState state, string ip) => state.Snapshot().Pods.ContainsKey(IpAddr.Parse(ip));

    [Fact]
    public void A_slow_rebuild_is_followed_by_none_for_four_times_its_duration_and_then_the_change_shows()
    {
        var clock = new SlowBuildClock { BuildTime = TimeSpan.FromMilliseconds(300) };
        var state = new ClusterState(clock, TimeSpan.FromMinutes(2));
        state.UpsertPod("shop/a", Pod("a", "10.244.0.1"));
        Assert.True(Knows(state, "10.244.0.1"));

        state.UpsertPod("shop/b", Pod("b", "10.244.0.2"));
        clock.Now += TimeSpan.FromMilliseconds(1199);
        Assert.False(Knows(state, "10.244.0.2"));
        Assert.Equal(1, state.Rebuilds);

        clock.Now += TimeSpan.FromMilliseconds(1);
        Assert.True(Knows(state, "10.244.0.2"));
        Assert.Equal(2, state.Rebuilds);

        // Nothing changed since: no rebuild, however much later.
        clock.Now += TimeSpan.FromMinutes(1);
        Assert.True(Knows(state, "10.244.0.2"));
        Assert.Equal(2, state.Rebuilds);
    }

    [Fact]
    public void However_long_a_rebuild_took_a_change_shows_within_the_maximum_spacing()
    {
        var clock = new SlowBuildClock { BuildTime = TimeSpan.FromSeconds(5) };
        var state = new ClusterState(clock, TimeSpan.FromMinutes(2));
        state.UpsertPod("shop/a", Pod("a", "10.244.0.1"));
        Assert.True(Knows(state, "10.244.0.1"));

        state.DeletePod("shop/a");
        state.UpsertPod("shop/b", Pod("b", "10.244.0.2"));
        clock.Now += ClusterState.MaxRebuildSpacing - TimeSpan.FromTicks(1);
        Assert.False(Knows(state, "10.244.0.2"));
        clock.Now += TimeSpan.FromTicks(1);
        Assert.True(Knows(state, "10.244.0.2"));
    }

    [Fact]
    public async Task Consumers_arriving_while_the_first_snapshot_is_built_wait_for_it_instead_of_taking_an_empty_one()
    {
        var clock = new SlowBuildClock { BuildTime = TimeSpan.FromMilliseconds(300) };
        var state = new ClusterState(clock, TimeSpan.FromMinutes(2));
        for (var i = 0; i < 20_000; i++)
        {
            state.UpsertPod($"shop/p{i}", Pod($"p{i}", $"10.{64 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"));
        }

        using var start = new Barrier(4);
        var views = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait(TestContext.Current.CancellationToken);
            return state.Snapshot().Pods.Count;
        }, TestContext.Current.CancellationToken)));

        Assert.All(views, count => Assert.Equal(20_000, count));
    }

    [Fact]
    public void Quick_rebuilds_show_every_change_at_once()
    {
        var clock = new SlowBuildClock { BuildTime = TimeSpan.Zero };
        var state = new ClusterState(clock, TimeSpan.FromMinutes(2));
        for (var i = 1; i <= 50; i++)
        {
            state.UpsertPod($"shop/p{i}", Pod($"p{i}", $"10.244.1.{i}"));
            Assert.True(Knows(state, $"10.244.1.{i}"));
        }

        Assert.Equal(50, state.Rebuilds);
    }
}
