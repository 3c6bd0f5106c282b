using System.Net;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Faults;

/// <summary>On a three-node cluster, every node restarted in turn under load, as the operator upgrades a cluster.</summary>
[Collection(ClusterPipelineQueues.Collection)]
public sealed class ClusterRollingRestartFaultTests
{
    private const string EnricherQueue = Egressd.Enricher.FlowBatchCollectedConsumerDefinition.Queue;

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Rolling_restart_of_all_three_nodes_under_load_loses_and_duplicates_nothing()
    {
        var output = TestContext.Current.TestOutputHelper;
        await using var cluster = await PrivateCluster.StartAsync();
        await using var pipeline = new FaultPipeline(cluster.BusSettings(), "rolling-restart", flows: 50_000, flowsPerPart: 5_000);
        await pipeline.StartConsumersAsync();

        var parts = pipeline.Flows / pipeline.FlowsPerPart;
        for (var node = PrivateCluster.Nodes; node >= 1; node--)
        {
            // As the operator's pre-stop hook: no node goes down while a quorum queue needs it for a majority.
            await cluster.AwaitQuorumWithoutAsync(node);

            // The last restart's backlog through first, so the queue holds only the next one.
            Assert.True(await Eventually.TrueAsync(() => Task.FromResult(pipeline.Lines() == pipeline.Flows * pipeline.Nodes.Count), TimeSpan.FromSeconds(240), TimeSpan.FromSeconds(1)),
                $"the last backlog never came through: {pipeline.Lines()} lines\n{pipeline.Exporter!.Tail()}");

            // A backlog for the restart to cross: the enricher away (a clean stop), one more node's
            // collector publishes its window, and every part of it waits in the enricher's queue.
            // The pipeline moves a window faster than a node stops, so without a backlog the
            // restart would only ever meet an idle pipeline.
            await pipeline.Enricher!.StopAsync();
            pipeline.StartCollector();
            var waiting = -1L;
            Assert.True(await Eventually.TrueAsync(async () => (waiting = await cluster.MessageCountAsync(EnricherQueue)) == parts, TimeSpan.FromSeconds(120)),
                $"the collector's {parts} parts never all waited in {EnricherQueue} (last count {waiting})");
            var written = pipeline.Lines();

            // The node stops while the enricher comes back and drains the backlog through it.
            var halted = cluster.HaltAsync(node);
            var enricher = pipeline.StartEnricher();
            await halted;
            output?.WriteLine($"node {node} ({await cluster.LeaderAsync(EnricherQueue)} now leads {EnricherQueue}) stopped with {parts} parts waiting, at {written} lines written; {pipeline.Lines()} when it was down");
            await enricher.WaitUntilAsync("/readyz", HttpStatusCode.OK, FaultPipeline.StartTimeout);
            await cluster.RestartAsync(node);
        }
        await pipeline.AssertExactlyOnceAsync(cluster.MessageCountAsync, output);
    }
}
