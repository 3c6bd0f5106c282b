using System.Globalization;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.FirstRun;

/// <summary>What a newcomer sees at the start of run.sh on a host with nothing to show.</summary>
[Collection(RunScriptCollection.Name)]
public sealed class RunStartTests
{
    [Theory]
    [InlineData("--quiet")]
    [InlineData("--view")]
    public async Task Empty_host_says_so_on_the_terminal_with_the_flow_file_and_every_exporter_series_there_from_the_start(string mode)
    {
        NetnsLab.RequireRoot();
        // A network namespace of its own: a conntrack table nothing uses, as on a quiet host.
        var netns = "egt-empty-" + Guid.NewGuid().ToString("N")[..6];
        Shell.Run("ip", "netns", "add", netns);
        var directory = Directory.CreateTempSubdirectory("egressd-runsh-").FullName;
        var flows = Path.Combine(directory, "flows.jsonl");
        var port = FreePort.Next();
        try
        {
            using var run = RunScript.Start(new Dictionary<string, string?>
            {
                ["Egressd__Http__Port"] = port.ToString(CultureInfo.InvariantCulture),
                ["Egressd__Collector__Netns"] = "/run/netns/" + netns,
                ["Egressd__Collector__StateDirectory"] = Path.Combine(directory, "collector"),
                ["Egressd__Exporter__FlowLog__Path"] = flows,
                ["Egressd__Collector__ReadInterval"] = "00:00:00.200",
            }, "--no-build", mode);

            Assert.True(await Eventually.TrueAsync(() => run.HasExited || run.Output.Contains("egressd is running", StringComparison.Ordinal), TimeSpan.FromSeconds(60)),
                "no banner:\n" + run.Output + run.Error);
            Assert.False(run.HasExited, run.Output + run.Error);
            // Ready: the flow file is there for tail -f, and /metrics has the exporter's series at zero before any flow.
            Assert.True(File.Exists(flows));
            using var http = new HttpClient();
            var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"), TestContext.Current.CancellationToken);
            foreach (var series in new[]
            {
                "egressd_exporter_batches_applied_total{sink=\"flow-log\"}",
                "egressd_exporter_batches_applied_total{sink=\"prometheus\"}",
                "egressd_exporter_duplicates_skipped_total{sink=\"flow-log\"}",
                "egressd_exporter_duplicates_skipped_total{sink=\"prometheus\"}",
                "egressd_exporter_flows_applied_total 0",
                "egressd_exporter_flow_log_lines_written_total 0",
                "egressd_exporter_series 0",
            })
            {
                Assert.Contains(series, metrics, StringComparison.Ordinal);
            }

            Assert.True(await Eventually.TrueAsync(() => run.Output.Contains("The conntrack table is empty", StringComparison.Ordinal), TimeSpan.FromSeconds(30)),
                "the terminal never said the table is empty:\n" + run.Output);
            Assert.Contains("sudo ./run.sh --demo", run.Output, StringComparison.Ordinal);
            Assert.Empty(run.ErrorLines());
            run.Terminate();
            await run.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(0, run.ExitCode);
        }
        finally
        {
            Shell.TryRun("ip", "netns", "del", netns);
            Directory.Delete(directory, recursive: true);
        }
    }
}
