using Egressd.Local;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.EndToEnd;

/// <summary>The whole path in one process on the in-memory bus, as `./run.sh` runs it.</summary>
public sealed class InMemoryPathTests
{
    [Fact]
    public async Task Fixture_batch_goes_collector_to_exporter_once_with_every_field()
    {
        var node = "inmem-" + Guid.NewGuid().ToString("N")[..8];
        var flowLog = Path.Combine(Path.GetTempPath(), $"egressd-{node}.jsonl");
        var fixture = await FlowLogFile.SampleAsync();

        await using (var host = await InProcessHost.StartAsync("egressd", b => b.AddAllInOne(), new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "inmemory",
            ["Egressd:Collector:NodeName"] = node,
            ["Egressd:Collector:Source"] = "replay",
            ["Egressd:Collector:ReplayFile"] = Repo.SampleFlows,
            ["Egressd:Collector:ReadInterval"] = "00:00:00.200",
            ["Egressd:Exporter:FlowLog:Path"] = flowLog,
        }))
        {
            Assert.True(await Eventually.TrueAsync(() => FlowLogFile.Read(flowLog, node).Count >= fixture.Flows.Count, TimeSpan.FromSeconds(30)),
                "the fixture's flows never reached the flow log");
            // Several more read intervals: nothing may arrive twice.
            await host.WaitForMoreReadsAsync(3, TimeSpan.FromSeconds(30));
        }

        FlowLogFile.AssertDeliveredOnce(FlowLogFile.Read(flowLog, node), fixture, node);
        File.Delete(flowLog);
    }
}
