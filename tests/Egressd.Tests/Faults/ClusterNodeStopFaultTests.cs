using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Faults;

/// <summary>On a three-node cluster, one node stopped cleanly for a minute while batches are moving.</summary>
[Collection(ClusterPipelineQueues.Collection)]
public sealed class ClusterNodeStopFaultTests
{
    /// <summary>The outage the issue names: a minute of a node's clients reconnecting elsewhere and its queues led by the others.</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(60);

    [Fact]
    [Trait("Category", "Slow")]
    public async Task One_node_stopped_for_60_s_during_traffic_loses_and_duplicates_nothing()
    {
        var output = TestContext.Current.TestOutputHelper;
        await using var cluster = await PrivateCluster.StartAsync();
        await using var pipeline = new FaultPipeline(cluster.BusSettings(), "node-stop", flows: 100_000, flowsPerPart: 5_000);
        await pipeline.StartConsumersAsync();
        // Looked up before the traffic, so the fault strikes the moment the exporter writes.
        var node = await ClusterPipelineQueues.BusiestNodeAsync(cluster, pipeline);
        pipeline.StartCollector();

        Assert.True(await Task.Run(() => pipeline.WaitForFlowLogGrowth(TimeSpan.FromSeconds(120))), "the exporter never wrote\n" + pipeline.Exporter!.Tail());
        await cluster.HaltAsync(node);
        output?.WriteLine($"stopped node {node} at {pipeline.Lines()} lines written");
        // A second node's collector starts and publishes while the node is away.
        var late = pipeline.StartCollector();
        await late.WaitUntilAsync("/healthz", System.Net.HttpStatusCode.OK, FaultPipeline.StartTimeout);
        await Task.Delay(Outage, TestContext.Current.CancellationToken);
        await cluster.RestartAsync(node);

        await pipeline.AssertExactlyOnceAsync(cluster.MessageCountAsync, output);
    }
}
