using System.Globalization;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.FirstRun;

/// <summary>
/// <c>sudo ./run.sh --demo</c> as a newcomer runs it: the build's progress, a banner once ready,
/// the mini-cluster's traffic on /metrics with every label and in the terminal view, and nothing
/// left behind when it stops, or after a kill -9 once the next run has started.
/// </summary>
[Collection(RunScriptCollection.Name)]
[Trait("Category", "Slow")]
public sealed class RunDemoTests
{
    private static readonly string[] DemoNamespaces = ["node-a", "node-b", "node-c", "node-d", "web", "worker", "cache", "db", "analytics", "internet"];

    [Fact]
    public async Task Demo_shows_every_kind_of_traffic_and_leaves_nothing_behind()
    {
        NetnsLab.RequireRoot();
        var port = FreePort.Next();
        var environment = new Dictionary<string, string?> { ["Egressd__Http__Port"] = port.ToString(CultureInfo.InvariantCulture) };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        // First run: builds, then shows the demo's traffic until stopped like Ctrl-C stops it.
        using (var run = RunScript.Start(environment, "--demo", "--view"))
        {
            string metrics = "";
            var complete = await Eventually.TrueAsync(
                async () =>
                {
                    if (run.HasExited)
                    {
                        return true;
                    }

                    metrics = await ScrapeAsync(http, port);
                    return MissingSeries(metrics).Count == 0 && ViewMissing(run.Output).Count == 0;
                },
                TimeSpan.FromMinutes(4),
                TimeSpan.FromSeconds(1));
            Assert.True(complete && !run.HasExited, $"run.sh ended early ({(run.HasExited ? run.ExitCode : -1)}):\n{run.Output}\n{run.Error}");
            Assert.True(MissingSeries(metrics).Count == 0, "missing on /metrics: " + string.Join("; ", MissingSeries(metrics)) + "\n" + FlowSeries(metrics));
            Assert.True(ViewMissing(run.Output).Count == 0, "missing in the terminal view: " + string.Join("; ", ViewMissing(run.Output)) + "\n" + run.Output);

            var output = run.Output;
            Assert.Contains("Building egressd", output, StringComparison.Ordinal);
            Assert.Contains("Build succeeded", output, StringComparison.Ordinal);
            // The banner comes once egressd is ready, after the build, before the view's first window.
            var banner = output.IndexOf("egressd is running", StringComparison.Ordinal);
            Assert.True(banner > output.IndexOf("Built in", StringComparison.Ordinal), output);
            Assert.True(banner < output.IndexOf("per class:", StringComparison.Ordinal), output);

            run.Terminate();
            await run.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(run.ExitCode == 0, $"run.sh exited {run.ExitCode} on SIGTERM:\n{run.Error}");
        }

        AssertNothingLeft();

        // A crash: kill -9 of run.sh and everything it started leaves the cluster behind ...
        using (var crashed = RunScript.Start(environment, "--demo", "--quiet", "--no-build"))
        {
            Assert.True(await Eventually.TrueAsync(() => crashed.HasExited || crashed.Output.Contains("egressd is running", StringComparison.Ordinal), TimeSpan.FromSeconds(90)),
                "the second run never became ready:\n" + crashed.Output + crashed.Error);
            Assert.False(crashed.HasExited, crashed.Output + crashed.Error);
            crashed.KillSession();
            await crashed.WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.Contains($"egd-demo-node-a", Shell.Run("ip", "netns", "list"), StringComparison.Ordinal);

        // ... and the next start removes it, works, and cleans up after itself.
        using (var next = RunScript.Start(environment, "--demo", "--quiet", "--no-build"))
        {
            Assert.True(await Eventually.TrueAsync(
                async () => next.HasExited || MissingSeries(await ScrapeAsync(http, port)).Count == 0,
                TimeSpan.FromSeconds(90),
                TimeSpan.FromSeconds(1)), "the run after the crash never showed the demo's traffic:\n" + next.Output + next.Error);
            Assert.False(next.HasExited, next.Output + next.Error);
            next.TerminateSessionTwice();
            await next.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(next.ExitCode == 0, $"run.sh exited {next.ExitCode} on SIGTERM to its session and then to itself:\n{next.Error}");
        }

        AssertNothingLeft();
    }

    /// <summary>Each kind of demo traffic, as a flow series with its pods, class, service or DNS name.</summary>
    private static List<string> MissingSeries(string metrics)
    {
        var series = metrics.Split('\n').Where(l => l.StartsWith("egressd_transmit_bytes_total{", StringComparison.Ordinal)).ToList();
        var expected = new (string What, string[] Labels)[]
        {
            ("same-node", ["src_pod=\"web-0\"", "dst_pod=\"worker-0\"", "traffic_class=\"same-node\""]),
            ("same-zone", ["src_pod=\"web-0\"", "dst_pod=\"cache-0\"", "traffic_class=\"same-zone\""]),
            ("cross-zone", ["src_pod=\"worker-0\"", "dst_pod=\"db-0\"", "traffic_class=\"cross-zone\"", "dst_zone=\"zone-b\""]),
            ("cross-region", ["src_pod=\"worker-0\"", "dst_pod=\"analytics-0\"", "traffic_class=\"cross-region\"", "dst_region=\"region-2\""]),
            ("service", ["src_pod=\"web-0\"", "dst_pod=\"db-0\"", "dst_service=\"shop/db\""]),
            ("internet by name", ["src_pod=\"web-0\"", "traffic_class=\"internet\"", "dst_dns_name=\"api.payments.example\""]),
        };
        var missing = expected.Where(e => !series.Any(s => e.Labels.All(l => s.Contains(l, StringComparison.Ordinal)) && !s.EndsWith(" 0", StringComparison.Ordinal))).Select(e => e.What).ToList();

        // The demo's nodes are AWS nodes without public addresses: dollars, NAT included.
        var costs = metrics.Split('\n').Where(l => l.StartsWith("egressd_transfer_cost_usd_total{", StringComparison.Ordinal)).ToList();
        var expectedCosts = new (string What, string[] Labels)[]
        {
            ("cross-zone egress cost", ["src_workload=\"worker\"", "traffic_class=\"cross-zone\"", "charge=\"egress\""]),
            ("cross-zone ingress cost", ["src_workload=\"worker\"", "traffic_class=\"cross-zone\"", "charge=\"ingress\""]),
            ("internet NAT cost", ["src_workload=\"web\"", "traffic_class=\"internet\"", "charge=\"nat\""]),
        };
        missing.AddRange(expectedCosts.Where(e => !costs.Any(s => e.Labels.All(l => s.Contains(l, StringComparison.Ordinal)))).Select(e => e.What));
        return missing;
    }

    /// <summary>The rows the terminal view printed: source workload → destination, with the class.</summary>
    private static List<string> ViewMissing(string output)
    {
        var rows = output.Split('\n');
        var expected = new (string Source, string Destination, string Class)[]
        {
            ("shop/web", "shop/worker", "same-node"),
            ("shop/web", "shop/cache", "same-zone"),
            ("shop/worker", "shop/db", "cross-zone"),
            ("shop/worker", "data/analytics", "cross-region"),
            ("shop/web", "service shop/db", "cross-zone"),
            ("shop/web", "api.payments.example (198.18.0.10)", "internet"),
        };
        var missing = expected
            .Where(e => !rows.Any(r => r.Contains(e.Source + " ", StringComparison.Ordinal) && r.Contains(" " + e.Destination + " ", StringComparison.Ordinal)
                && r.Contains(" " + e.Class + " ", StringComparison.Ordinal) && r.Contains("/s", StringComparison.Ordinal)))
            .Select(e => $"{e.Source} → {e.Destination} ({e.Class})").ToList();
        if (!rows.Any(r => r.StartsWith("per class:", StringComparison.Ordinal) && r.Contains("/month)", StringComparison.Ordinal)))
        {
            missing.Add("a projected month per class");
        }

        if (!rows.Any(r => r.StartsWith("pipeline: windows published", StringComparison.Ordinal) && !r.Contains("batches applied 0 ", StringComparison.Ordinal)))
        {
            missing.Add("the pipeline's health");
        }

        return missing;
    }

    private static async Task<string> ScrapeAsync(HttpClient http, int port)
    {
        try
        {
            return await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"), TestContext.Current.CancellationToken);
        }
        catch (HttpRequestException)
        {
            return "";
        }
    }

    private static string FlowSeries(string metrics) =>
        string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("egressd_transmit_bytes_total{", StringComparison.Ordinal)));

    private static void AssertNothingLeft()
    {
        var namespaces = Shell.Run("ip", "netns", "list");
        Assert.DoesNotContain(DemoNamespaces, n => namespaces.Contains("egd-demo-" + n, StringComparison.Ordinal));
        Assert.DoesNotContain("egd", Shell.Run("ip", "-o", "link", "show"), StringComparison.Ordinal);
        Assert.DoesNotContain("egd", Shell.Run("nft", "list", "tables"), StringComparison.Ordinal);
        Assert.DoesNotContain("api.payments.example", Shell.Run("ps", "-eo", "args"), StringComparison.Ordinal);
    }
}
