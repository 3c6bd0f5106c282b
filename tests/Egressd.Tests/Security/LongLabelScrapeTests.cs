using System.Diagnostics;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Tests.Infrastructure;
using MassTransit;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Security;

/// <summary>Runs alone: it reads the whole process's CPU time, which parallel tests would blur.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CpuQuietCollection
{
    public const string Name = "cpu-quiet";
}

/// <summary>
/// A 200 KB label value, from the bus (anyone who can publish) or from a static label: every
/// scrape used to spin a core forever on it and return a cut-off body.
/// </summary>
[Collection(CpuQuietCollection.Name)]
public sealed class LongLabelScrapeTests
{
    private const int LongValue = 200 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_200_KB_pod_name_from_the_bus_is_cut_to_253_characters_counted_and_scraped_clean()
    {
        await using var exporter = await InMemoryExporter.StartAsync();
        var truncated = exporter.Services.GetRequiredService<PrometheusSinkMetrics>().LabelValuesTruncated["src_pod"];
        Assert.Equal(0, truncated.Value);
        var hostile = "web-" + new string('x', LongValue);
        await exporter.Services.GetRequiredService<IBus>().PublishAsync(
            Batch("node-a", Guid.NewGuid().ToString("N"), 1, PodFlow("shop", hostile, "db", "db-0", txBytes: 4242)));
        var store = exporter.Services.GetRequiredService<FlowSeriesStore>();
        Assert.True(await Eventually.TrueAsync(() => store.Count == 1, TimeSpan.FromSeconds(30)), "the batch never reached the Prometheus sink");

        var text = await exporter.ScrapeAsync();

        var (code, said) = Exposition.Promtool(text);
        Assert.True(code == 0, $"promtool check metrics: {said}");
        var sample = Assert.Single(Exposition.Samples(text, "egressd_transmit_bytes_total"));
        Assert.Equal(4242, sample.Value);
        Assert.Equal(hostile[..FlowLabels.MaxValueLength], sample.Labels["src_pod"]);
        Assert.Equal(1, truncated.Value);
        Assert.Equal(1, Exposition.Value(text, "egressd_exporter_label_values_truncated_total", "label", "src_pod"));
        await AssertNoThreadSpinsAsync();
    }

    [Fact]
    public async Task A_series_line_far_longer_than_the_response_buffer_is_written_whole_by_concurrent_scrapes()
    {
        // Static labels are not cut (the operator sets them), so this line really is 200 KB long.
        var value = string.Concat(Enumerable.Repeat("a\"b\\c\n", LongValue / 6));
        await using var exporter = await InMemoryExporter.StartAsync(("Egressd:Exporter:Prometheus:StaticLabels:cluster", value));
        var store = exporter.Services.GetRequiredService<FlowSeriesStore>();
        store.Apply([PodFlow("shop", "web-1", "db", "db-0", txBytes: 100), PodFlow("shop", "web-2", "db", "db-0", txBytes: 200)]);

        // More scrapes than renders run at once: the others wait, and all get the whole body.
        var bodies = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => exporter.ScrapeAsync()));

        foreach (var text in bodies)
        {
            var (code, said) = Exposition.Promtool(text);
            Assert.True(code == 0, $"promtool check metrics: {said}");
            var samples = Exposition.Samples(text, "egressd_transmit_bytes_total");
            Assert.Equal(2, samples.Count);
            Assert.Equal(300, samples.Sum(s => s.Value));
            Assert.All(samples, s => Assert.Equal(value, s.Labels["cluster"]));
            Assert.Equal(8, Exposition.Samples(text, "egressd_transmit_bytes_total").Count
                + Exposition.Samples(text, "egressd_received_bytes_total").Count
                + Exposition.Samples(text, "egressd_transmit_packets_total").Count
                + Exposition.Samples(text, "egressd_received_packets_total").Count);
        }

        await AssertNoThreadSpinsAsync();
    }

    /// <summary>
    /// Once the scrapes are answered, the process goes quiet: some half-second shows well under
    /// half a core of CPU. A spinning render burns a whole core in every one of them.
    /// </summary>
    private static async Task AssertNoThreadSpinsAsync()
    {
        var process = Process.GetCurrentProcess();
        var window = TimeSpan.FromMilliseconds(500);
        var busiest = TimeSpan.Zero;
        var quiet = await Eventually.TrueAsync(async () =>
        {
            process.Refresh();
            var before = process.TotalProcessorTime;
            await Task.Delay(window, Ct);
            process.Refresh();
            var used = process.TotalProcessorTime - before;
            busiest = used > busiest ? used : busiest;
            return used < window / 4;
        }, TimeSpan.FromSeconds(15));
        Assert.True(quiet, $"the process kept using CPU after the scrape (up to {busiest.TotalMilliseconds:F0} ms per {window.TotalMilliseconds:F0} ms)");
    }
}
