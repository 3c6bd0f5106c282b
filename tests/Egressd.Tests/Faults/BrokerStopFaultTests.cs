using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Faults;

/// <summary>The broker stopped for 60 s while batches are moving and a collector comes up meanwhile.</summary>
public sealed class BrokerStopFaultTests
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Broker_stopped_for_60_s_during_traffic_loses_and_duplicates_nothing()
    {
        await using var broker = await PrivateBroker.StartAsync();
        await using var pipeline = new FaultPipeline(broker.BusSettings(), "broker-stop", flows: 100_000, flowsPerPart: 5_000);
        await pipeline.StartConsumersAsync();
        pipeline.StartCollector();

        Assert.True(await Task.Run(() => pipeline.WaitForFlowLogGrowth(TimeSpan.FromSeconds(120))), "the exporter never wrote\n" + pipeline.Exporter!.Tail());
        await broker.HaltAsync();
        // A second node's collector reads its window while the broker is away: it must keep it, not lose it.
        var late = pipeline.StartCollector();
        await late.WaitUntilAsync("/healthz", System.Net.HttpStatusCode.OK, FaultPipeline.StartTimeout);
        await late.WaitForMoreReadsAsync(2, FaultPipeline.StartTimeout);
        // The outage under test: 60 s without a broker, a minute of heartbeats failing and reconnects refused.
        await Task.Delay(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        await broker.RestartAsync();

        await pipeline.AssertExactlyOnceAsync(broker.MessageCountAsync, TestContext.Current.TestOutputHelper);
    }
}
