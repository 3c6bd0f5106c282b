using System.Net;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Faults;

/// <summary>
/// On a three-node cluster with one node down, one of two enricher replicas and one of two
/// exporter replicas sharing the Prometheus sink's shards killed by SIGKILL with batches in hand.
/// </summary>
[Collection(ClusterPipelineQueues.Collection)]
public sealed class ClusterReplicaKillFaultTests
{
    private const int Shards = 4;

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Enricher_and_exporter_shard_replicas_killed_while_a_node_is_down_lose_and_duplicate_nothing()
    {
        var output = TestContext.Current.TestOutputHelper;
        await using var cluster = await PrivateCluster.StartAsync();
        await using var pipeline = new FaultPipeline(cluster.BusSettings(), "replica-kill", flows: 100_000, flowsPerPart: 5_000, prometheusShards: Shards);
        await pipeline.StartConsumersAsync();
        var doomedEnricher = pipeline.Enricher!;
        await pipeline.StartEnricher().WaitUntilAsync("/readyz", HttpStatusCode.OK, FaultPipeline.StartTimeout);
        var doomedExporter = pipeline.StartShardReplica();
        await doomedExporter.WaitUntilAsync("/readyz", HttpStatusCode.OK, FaultPipeline.StartTimeout);
        Assert.True(await Eventually.TrueAsync(async () => Exposition.Value(await doomedExporter.GetStringAsync("/metrics"), "egressd_exporter_prometheus_shards_held") == Shards / 2,
            TimeSpan.FromSeconds(120)), "the second exporter replica never took its share of the shards\n" + doomedExporter.Tail());

        // Looked up before the traffic, so the fault strikes the moment the exporter writes.
        var node = await ClusterPipelineQueues.BusiestNodeAsync(cluster, pipeline);
        pipeline.StartCollector();
        Assert.True(await Task.Run(() => pipeline.WaitForFlowLogGrowth(TimeSpan.FromSeconds(120))), "the exporter never wrote\n" + pipeline.Exporter!.Tail());
        await cluster.HaltAsync(node);
        await doomedEnricher.KillAsync();
        await doomedExporter.KillAsync();
        output?.WriteLine($"node {node} stopped, an enricher and an exporter replica killed at {pipeline.Lines()} lines written");

        // What the killed exporter counted died with it: Prometheus is exact from here on, for the
        // next node's flows, on the replica that took every shard.
        if (!await Eventually.TrueAsync(() => pipeline.DrainedAsync(cluster.MessageCountAsync), TimeSpan.FromSeconds(240), TimeSpan.FromSeconds(1)))
        {
            Assert.Fail($"the first node's flows never all arrived: {pipeline.Lines()} lines; {await pipeline.QueueDepthsAsync(cluster.MessageCountAsync)}\n{pipeline.Exporter!.Tail()}");
        }
        Assert.True(await Eventually.TrueAsync(async () => Exposition.Value(await pipeline.Exporter!.GetStringAsync("/metrics"), "egressd_exporter_prometheus_shards_held") == Shards,
            TimeSpan.FromSeconds(120)), "the surviving exporter never took the killed replica's shards\n" + pipeline.Exporter!.Tail());
        var since = await pipeline.PrometheusTotalsAsync();
        pipeline.StartCollector();
        Assert.True(await Task.Run(() => pipeline.WaitForFlowLogGrowth(TimeSpan.FromSeconds(120))), "the exporter never wrote the second node's flows\n" + pipeline.Exporter!.Tail());
        await cluster.RestartAsync(node);

        await pipeline.AssertExactlyOnceAsync(cluster.MessageCountAsync, output, since);
    }
}
