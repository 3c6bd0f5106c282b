using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Faults;

/// <summary>On a three-node cluster, every node restarted in turn under load, as the operator upgrades a cluster.</summary>
[Collection(ClusterPipelineQueues.Collection)]
public sealed class ClusterRollingRestartFaultTests
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Rolling_restart_of_all_three_nodes_under_load_loses_and_duplicates_nothing()
    {
        var output = TestContext.Current.TestOutputHelper;
        await using var cluster = await PrivateCluster.StartAsync();
        await using var pipeline = new FaultPipeline(cluster.BusSettings(), "rolling-restart", flows: 50_000, flowsPerPart: 5_000);
        await pipeline.StartConsumersAsync();

        for (var node = PrivateCluster.Nodes; node >= 1; node--)
        {
            // As the operator's pre-stop hook: no node goes down while a quorum queue needs it for a majority.
            await cluster.AwaitQuorumWithoutAsync(node);
            // Fresh load for each restart, one more node's collector: the node stops while its parts are on the way.
            pipeline.StartCollector();
            Assert.True(await Task.Run(() => pipeline.WaitForFlowLogGrowth(TimeSpan.FromSeconds(120))), "the exporter never wrote\n" + pipeline.Exporter!.Tail());
            await cluster.HaltAsync(node);
            output?.WriteLine($"node {node} stopped at {pipeline.Lines()} lines written");
            await cluster.RestartAsync(node);
        }

        await pipeline.AssertExactlyOnceAsync(cluster.MessageCountAsync, output);
    }
}
