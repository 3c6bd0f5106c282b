using System.Net;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Faults;

/// <summary>The enricher killed by SIGKILL with batches in hand, three times.</summary>
public sealed class EnricherKillFaultTests
{
    private const int Kills = 3;

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Enricher_killed_in_the_middle_of_batches_loses_and_duplicates_nothing()
    {
        var output = TestContext.Current.TestOutputHelper;
        await using var broker = await PrivateBroker.StartAsync();
        await using var pipeline = new FaultPipeline(broker.BusSettings(), "enricher-kill", flows: 100_000, flowsPerPart: 5_000);
        await pipeline.StartConsumersAsync();
        // Every part waits in the enricher's queue first, so each enricher holds a full prefetch when it dies.
        await pipeline.Enricher!.StopAsync();
        pipeline.StartCollector();
        Assert.True(await Eventually.TrueAsync(async () => await broker.MessageCountAsync("egressd-enricher") >= pipeline.Flows / pipeline.FlowsPerPart, TimeSpan.FromSeconds(120)),
            "the collector's parts never reached the enricher's queue");

        var kills = 0;
        for (var round = 0; round < Kills; round++)
        {
            var enricher = pipeline.StartEnricher();
            // The first enriched batch written means the enricher is in the middle of the rest.
            if (!await Task.Run(() => pipeline.WaitForFlowLogGrowth(TimeSpan.FromSeconds(120))))
            {
                break;
            }

            await enricher.KillAsync();
            kills++;
            output?.WriteLine($"kill {kills}: {pipeline.Lines()} lines written, {await broker.MessageCountAsync("egressd-enricher")} parts left in the enricher's queue");
        }

        Assert.True(kills > 0, "the enricher was never caught in the middle of its work");
        await pipeline.StartEnricher().WaitUntilAsync("/readyz", HttpStatusCode.OK, FaultPipeline.StartTimeout);
        await pipeline.AssertExactlyOnceAsync(broker.MessageCountAsync, output);
    }
}
