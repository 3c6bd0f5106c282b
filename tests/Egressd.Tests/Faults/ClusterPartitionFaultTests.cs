using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Faults;

/// <summary>
/// On a three-node cluster with pause_minority (what the chart ships), one node cut off from the
/// other two and from every client for 30 s, then healed.
/// </summary>
[Collection(ClusterPipelineQueues.Collection)]
public sealed class ClusterPartitionFaultTests
{
    /// <summary>Longer than the cluster's net tick (10 s), so the cut is detected and the node pauses, not just a stall.</summary>
    private static readonly TimeSpan Partition = TimeSpan.FromSeconds(30);

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Node_partitioned_for_30_s_then_healed_loses_and_duplicates_nothing()
    {
        var output = TestContext.Current.TestOutputHelper;
        await using var cluster = await PrivateCluster.StartAsync();
        await using var pipeline = new FaultPipeline(cluster.BusSettings(), "partition", flows: 100_000, flowsPerPart: 5_000);
        await pipeline.StartConsumersAsync();
        // Looked up before the traffic, so the fault strikes the moment the exporter writes.
        var node = await ClusterPipelineQueues.BusiestNodeAsync(cluster, pipeline);
        pipeline.StartCollector();

        Assert.True(await Task.Run(() => pipeline.WaitForFlowLogGrowth(TimeSpan.FromSeconds(120))), "the exporter never wrote\n" + pipeline.Exporter!.Tail());
        await cluster.PartitionAsync(node);
        output?.WriteLine($"partitioned node {node} at {pipeline.Lines()} lines written");
        pipeline.StartCollector();
        // The partition under test, not a wait for a condition.
        await Task.Delay(Partition, TestContext.Current.CancellationToken);
        await cluster.HealAsync(node);

        await pipeline.AssertExactlyOnceAsync(cluster.MessageCountAsync, output);
    }
}
