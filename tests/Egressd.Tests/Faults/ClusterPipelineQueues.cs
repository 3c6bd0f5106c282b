using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Faults;

/// <summary>Where the pipeline's queues lead on a three-node cluster.</summary>
internal static class ClusterPipelineQueues
{
    /// <summary>The xunit collection of the cluster fault tests: each starts a cluster of its own, and three nodes each are too heavy to run side by side.</summary>
    public const string Collection = "RabbitMQ cluster faults";

    /// <summary>
    /// The node leading most of the queues every batch passes through, the enricher's and the
    /// sinks' (a quorum queue's leader takes every write first).
    /// </summary>
    public static async Task<int> BusiestNodeAsync(PrivateCluster cluster, FaultPipeline pipeline)
    {
        var leaders = new List<int>();
        foreach (var queue in pipeline.SinkQueues.Prepend(Egressd.Enricher.FlowBatchCollectedConsumerDefinition.Queue))
        {
            if (await cluster.LeaderAsync(queue) is { } leader)
            {
                leaders.Add(leader);
            }
        }

        Assert.True(leaders.Count > 0, "no queue of the pipeline has a leader: are they quorum queues?");
        return leaders.GroupBy(n => n).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
    }
}
