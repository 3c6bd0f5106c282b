using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Faults;

/// <summary>The broker killed by SIGKILL while the exporter writes a batch, back 20 s later.</summary>
public sealed class BrokerKillFaultTests
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Broker_killed_in_the_middle_of_an_exporter_write_and_restarted_after_20_s_loses_and_duplicates_nothing()
    {
        await using var broker = await PrivateBroker.StartAsync();
        // 10,000-flow parts: about 9 MB enriched, under the default MaxMessageBytes, and long writes to strike in.
        await using var pipeline = new FaultPipeline(broker.BusSettings(), "broker-kill", flows: 100_000, flowsPerPart: 10_000);
        await pipeline.StartConsumersAsync();
        pipeline.StartCollector();

        Assert.True(await Task.Run(() => pipeline.WaitForFlowLogGrowth(TimeSpan.FromSeconds(120))), "the exporter never wrote\n" + pipeline.Exporter!.Tail());
        await broker.KillAsync();
        // The outage under test, not a wait for a condition: the services must ride out 20 s without a broker.
        await Task.Delay(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        await broker.RestartAsync();

        await pipeline.AssertExactlyOnceAsync(broker.MessageCountAsync, TestContext.Current.TestOutputHelper);
    }
}
