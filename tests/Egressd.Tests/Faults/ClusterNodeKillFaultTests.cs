using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Faults;

/// <summary>On a three-node cluster, the node leading the busiest queues killed by SIGKILL mid-stream, back after a while.</summary>
[Collection(ClusterPipelineQueues.Collection)]
public sealed class ClusterNodeKillFaultTests
{
    /// <summary>How long the killed node stays away: long enough for every client on it to notice and move.</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(20);

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Node_leading_the_busiest_queues_killed_mid_stream_and_back_loses_and_duplicates_nothing()
    {
        var output = TestContext.Current.TestOutputHelper;
        await using var cluster = await PrivateCluster.StartAsync();
        await using var pipeline = new FaultPipeline(cluster.BusSettings(), "node-kill", flows: 100_000, flowsPerPart: 5_000);
        await pipeline.StartConsumersAsync();
        // Looked up before the traffic, so the fault strikes the moment the exporter writes.
        var node = await ClusterPipelineQueues.BusiestNodeAsync(cluster, pipeline);
        pipeline.StartCollector();

        Assert.True(await Task.Run(() => pipeline.WaitForFlowLogGrowth(TimeSpan.FromSeconds(120))), "the exporter never wrote\n" + pipeline.Exporter!.Tail());
        await cluster.KillAsync(node);
        output?.WriteLine($"killed node {node} at {pipeline.Lines()} lines written");
        // A second node's windows go out while the leader is gone: onto the two nodes left.
        pipeline.StartCollector();
        // The outage under test, not a wait for a condition.
        await Task.Delay(Outage, TestContext.Current.CancellationToken);
        await cluster.RestartAsync(node);

        await pipeline.AssertExactlyOnceAsync(cluster.MessageCountAsync, output);
    }
}
