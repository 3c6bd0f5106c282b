using Egressd.Exporter;
using Egressd.Tests.Infrastructure;
using MassTransit;
using Microsoft.Extensions.Time.Testing;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary>Each sink measures how long after its window's end it applied a batch.</summary>
public sealed class SinkLagTests
{
    private const string Metric = "egressd_exporter_sink_lag_seconds";

    [Fact]
    public async Task A_batch_applied_an_hour_after_its_window_ended_is_observed_in_the_sinks_lag_histogram()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var exporter = await InProcessHost.StartAsync("egressd-exporter", b =>
        {
            b.Services.AddSingleton<TimeProvider>(time);
            b.AddExporter();
        }, new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "inmemory",
            ["Egressd:Exporter:FlowLog:Enabled"] = "false",
        });
        // The histogram is the process's: other tests' exporters observe into it too, but only
        // with windows that ended moments ago, never past its last bucket (600 s).
        var before = Beyond600(await exporter.ScrapeAsync());
        var fresh = Batch("node-lag", Guid.NewGuid().ToString("N"), 1, PodFlow("lag", "web-1", "db", "db-0", txBytes: 5));
        var batch = fresh with
        {
            Header = fresh.Header with
            {
                WindowStart = time.GetUtcNow().AddSeconds(-3605),
                WindowEnd = time.GetUtcNow().AddSeconds(-3600),
            },
        };
        await exporter.Services.GetRequiredService<IBus>().PublishAsync(batch);

        var text = "";
        Assert.True(await Eventually.TrueAsync(async () => Beyond600(text = await exporter.ScrapeAsync()) >= before + 1, TimeSpan.FromSeconds(30)),
            "the late batch was never observed\n" + text);
        Assert.Equal(before + 1, Beyond600(text));
        Assert.True(Exposition.Value(text, Metric + "_sum", "sink", "prometheus") >= 3600);
    }

    /// <summary>Prometheus-sink observations above the last bucket: the +Inf count less the 600 s one.</summary>
    private static double Beyond600(string text)
    {
        var buckets = Exposition.Samples(text, Metric + "_bucket").Where(s => s.Labels.GetValueOrDefault("sink") == "prometheus").ToList();
        return buckets.Single(s => s.Labels["le"] == "+Inf").Value - buckets.Single(s => s.Labels["le"] == "600").Value;
    }
}
