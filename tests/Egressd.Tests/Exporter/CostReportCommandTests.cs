using System.Globalization;
using System.Text.Json;
using Egressd.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Egressd.Tests.Exporter;

/// <summary>
/// <c>Egressd.Exporter cost-report</c> against a real Prometheus that scrapes cost counters growing
/// at known relative rates: the command's workloads, order, charges and projection follow from them.
/// </summary>
public sealed class CostReportCommandTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    // Dollars each series grows by at every scrape.
    private static readonly (string Namespace, string Workload, string Class, string Charge, double PerScrape)[] Series =
    [
        ("shop", "web", "internet", "egress", 3),
        ("shop", "web", "internet", "nat", 1),
        ("shop", "db", "cross-zone", "ingress", 2),
        ("tools", "cron", "cross-zone", "egress", 0.25),
        ("tools", "cron", "cross-region", "egress", 0.25),
    ];

    [Fact]
    public async Task Workloads_come_most_expensive_first_with_each_charge_and_the_projected_month()
    {
        await using var exposition = await GrowingCostExposition.StartAsync();
        await using var prometheus = await PrometheusServer.StartAsync([exposition.Target]);
        await prometheus.WaitForTargetsUpAsync(1, Patience);
        Assert.True(await Eventually.TrueAsync(
            async () => (await prometheus.QueryAsync("increase(egressd_transfer_cost_usd_total[1h]) > 0")).Count == Series.Length,
            Patience,
            TimeSpan.FromMilliseconds(250)), "Prometheus never saw every cost series grow\n" + prometheus.Tail());

        var json = await RunAsync(0, "--prometheus", $"http://127.0.0.1:{prometheus.Port}", "--period", "1h", "--format", "json");
        using var document = JsonDocument.Parse(string.Join('\n', json));
        Assert.Equal(3600, document.RootElement.GetProperty("period_seconds").GetInt64());
        var rows = document.RootElement.GetProperty("workloads").EnumerateArray()
            .Select(r => (
                Name: r.GetProperty("namespace").GetString() + "/" + r.GetProperty("workload").GetString(),
                Egress: r.GetProperty("egress_usd").GetDouble(),
                Ingress: r.GetProperty("ingress_usd").GetDouble(),
                Nat: r.GetProperty("nat_usd").GetDouble(),
                Total: r.GetProperty("total_usd").GetDouble(),
                Month: r.GetProperty("projected_month_usd").GetDouble()))
            .ToList();

        // web grows 4 a scrape, db 2, cron 0.5 over two classes summed: every series was scraped at
        // the same instants, so the increases keep those ratios exactly (up to the 6 decimals printed).
        Assert.Equal(["shop/web", "shop/db", "tools/cron"], rows.Select(r => r.Name));
        var (web, db, cron) = (rows[0], rows[1], rows[2]);
        Assert.True(web.Total > 1, $"web cost only {web.Total}");
        AssertRatio(3, web.Egress / web.Nat);
        Assert.Equal(0, web.Ingress);
        AssertRatio(0.5, db.Total / web.Total);
        Assert.Equal(db.Total, db.Ingress);
        AssertRatio(0.125, cron.Total / web.Total);
        AssertRatio(1, web.Total / (web.Egress + web.Ingress + web.Nat));
        Assert.All(rows, r => AssertRatio(730, r.Month / r.Total));

        var csv = await RunAsync(0, "--prometheus", $"http://127.0.0.1:{prometheus.Port}/", "--period", "1h", "--format", "csv", "--top", "2");
        Assert.Equal("namespace,workload,egress_usd,ingress_usd,nat_usd,total_usd,projected_month_usd", csv[0]);
        Assert.Equal(["shop,web", "shop,db"], csv.Skip(1).Select(l => string.Join(',', l.Split(',')[..2])));

        var table = await RunAsync(0, "--prometheus", $"http://127.0.0.1:{prometheus.Port}", "--period", "1h");
        Assert.StartsWith("Traffic cost over the last 1 h", table[0], StringComparison.Ordinal);
        Assert.Matches(@"^NAMESPACE\s+WORKLOAD\s+EGRESS \$\s+INGRESS \$\s+NAT \$\s+TOTAL \$\s+MONTH \$$", table[1]);
        Assert.StartsWith("shop       web", table[2], StringComparison.Ordinal);
        Assert.Equal(5, table.Count);
    }

    [Theory]
    [InlineData(new[] { "--period", "1h" }, 2, "--prometheus is required")]
    [InlineData(new[] { "--prometheus", "prometheus:9090" }, 2, "--prometheus 'prometheus:9090' is not an http:// or https:// URL")]
    [InlineData(new[] { "--prometheus", "http://127.0.0.1:9", "--period", "24" }, 2, "--period '24' must be a Prometheus duration")]
    [InlineData(new[] { "--prometheus", "http://127.0.0.1:9", "--top", "0" }, 2, "--top '0' must be a whole number of at least 1")]
    [InlineData(new[] { "--prometheus", "http://127.0.0.1:9", "--format", "xml" }, 2, "--format 'xml' must be table, csv or json")]
    [InlineData(new[] { "--prometheus", "http://user:secret@127.0.0.1:9" }, 1, "Prometheus at http://127.0.0.1:9 did not answer")]
    public async Task A_mistake_or_an_unreachable_prometheus_is_one_line_with_its_exit_code(string[] args, int exitCode, string expected)
    {
        await using var command = ServiceProcess.Start("cost-report", Repo.ServiceDll("exporter", "Egressd.Exporter"), new Dictionary<string, string?>(), args: ["cost-report", .. args]);
        Assert.Equal(exitCode, await command.WaitForExitAsync(Patience));
        var line = Assert.Single(command.Output);
        Assert.StartsWith("stderr: egressd-exporter cost-report: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", line, StringComparison.Ordinal);
    }

    private static async Task<List<string>> RunAsync(int exitCode, params string[] args)
    {
        await using var command = ServiceProcess.Start("cost-report", Repo.ServiceDll("exporter", "Egressd.Exporter"), new Dictionary<string, string?>(), args: ["cost-report", .. args]);
        var exited = await command.WaitForExitAsync(Patience);
        Assert.True(exited == exitCode, $"exit code {exited}\n{command.Tail()}");
        Assert.DoesNotContain(command.Output, l => l.StartsWith("stderr: ", StringComparison.Ordinal));
        return [.. command.Output];
    }

    private static void AssertRatio(double expected, double actual) =>
        Assert.True(Math.Abs(actual - expected) <= expected * 1e-5, $"expected a ratio of {expected}, got {actual}");

    /// <summary>A /metrics endpoint whose cost counters grow by <see cref="Series"/> at each scrape.</summary>
    private sealed class GrowingCostExposition : IAsyncDisposable
    {
        private readonly WebApplication app;
        private int scrapes;

        private GrowingCostExposition(WebApplication app) => this.app = app;

        public string Target => new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Authority;

        public static async Task<GrowingCostExposition> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var exposition = new GrowingCostExposition(app);
            app.MapGet("/metrics", () =>
            {
                var n = Interlocked.Increment(ref exposition.scrapes);
                var text = new System.Text.StringBuilder("# TYPE egressd_transfer_cost_usd_total counter\n");
                foreach (var (ns, workload, trafficClass, charge, perScrape) in Series)
                {
                    text.Append(CultureInfo.InvariantCulture,
                        $"egressd_transfer_cost_usd_total{{charge=\"{charge}\",src_namespace=\"{ns}\",src_workload=\"{workload}\",traffic_class=\"{trafficClass}\"}} {perScrape * n}\n");
                }

                return Results.Text(text.ToString(), "text/plain; version=0.0.4");
            });
            await app.StartAsync(TestContext.Current.CancellationToken);
            return exposition;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }
}
