using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Egressd.Collector.Dns;
using Egressd.Collector.Flows;
using Egressd.Enricher;
using Egressd.Exporter.Sinks;
using Egressd.Exporter.Sinks.FlowLog;
using Egressd.Exporter.Sinks.Http;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Exporter.Sinks.Prometheus.RemoteWrite;
using Egressd.Exporter.Sinks.Prometheus.Sharding;
using Egressd.Shared.Bus;
using Egressd.Shared.Kubernetes;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace Egressd.Benchmarks;

/// <summary>
/// Two ways for the services to count their own metrics without a process-wide registry,
/// on the same metric set (every family of the three services, as the local runner has
/// them): prometheus-net's own metrics in a registry per host (what egressd does), and
/// System.Diagnostics.Metrics instruments from an <see cref="IMeterFactory"/> exported through
/// prometheus-net's meter adapter. Measured side by side, alternating: a scrape's time and
/// allocations, one increment's time, and whether the scrape keeps the metrics' names, types and help.
/// </summary>
internal static class SelfMetricsBenchmark
{
    public static int Run(string[] args)
    {
        var scrapes = args is ["--scrapes", var n] ? int.Parse(n, CultureInfo.InvariantCulture) : 2_000;

        // prometheus-net, a registry per host: the metrics classes themselves, with the series a
        // running local runner declares (two sinks, the Kubernetes resources, DNS capture on).
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        var sinks = new SinkMetrics(factory);
        foreach (var sink in new[] { "flow-log", "prometheus", "webhook" })
        {
            sinks.Declare(sink);
        }

        var bus = new BusMetrics(factory);
        _ = new EnricherMetrics(factory);
        _ = new CollectorMetrics(factory);
        _ = new ConntrackMetrics(factory);
        var dns = new DnsMetrics(factory);
        dns.Responses.WithLabels("udp");
        dns.Responses.WithLabels("tcp");
        _ = new PrometheusSinkMetrics(factory);
        _ = new RemoteWriteMetrics(factory);
        _ = new ShardingMetrics(factory);
        _ = new FlowLogMetrics(factory);
        new HttpSinkMetrics(factory).Declare("webhook");
        var kubernetes = new KubernetesMetrics(factory);
        foreach (var resource in new[] { "pods", "nodes", "services", "replicasets", "jobs" })
        {
            kubernetes.Relists.WithLabels(resource);
            kubernetes.Objects.WithLabels(resource);
        }

        bus.Faulted.WithLabels("egressd-enricher", "egressd-enricher_error", "malformed");
        var text = Scrape(registry);

        // The same families and series as instruments of a meter from an IMeterFactory, exported
        // into a registry of their own by prometheus-net's meter adapter.
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var adapted = Metrics.NewCustomRegistry();
        using var adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = adapted,
            // Its default is the process-wide factory, whatever Registry says.
            MetricFactory = Metrics.WithCustomRegistry(adapted),
            InstrumentFilterPredicate = i => i.Meter.Scope == meters,
        });
        var meter = meters.Create("Egressd");
        var counters = Mirror(meter, text);
        var adaptedText = Scrape(adapted);

        var applied = sinks.Applied.WithLabels("prometheus");
        var meterApplied = counters["egressd_exporter_batches_applied_total"];
        var sinkTag = new KeyValuePair<string, object?>("sink", "prometheus");

        var rows = new List<(string Name, double ScrapeUs, double ScrapeBytes, double IncNs)>();
        for (var round = 0; round < 5; round++)
        {
            rows.Add(("prometheus-net, a registry per host", ScrapeTime(registry, scrapes, out var bytes), bytes, IncTime(() => applied.Inc())));
            rows.Add(("System.Diagnostics.Metrics through the meter adapter", ScrapeTime(adapted, scrapes, out var adaptedBytes), adaptedBytes, IncTime(() => meterApplied.Add(1, sinkTag))));
        }

        // After the increments too: what a scrape of each shows once counting ran.
        adaptedText = Scrape(adapted);
        text = Scrape(registry);
        var (families, kept) = SameFamilies(text, adaptedText);
        Console.WriteLine($"Self-metrics: every family of the three services ({families} families, {Samples(text)} samples), {scrapes:N0} scrapes a round, 5 rounds alternating; {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}.");
        Console.WriteLine();
        Console.WriteLine("| metrics | scrape (µs, median) | allocated a scrape (bytes, median) | one increment (ns, median) | text a scrape (bytes) | families with the same name, type and help |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var group in rows.GroupBy(r => r.Name))
        {
            var size = group.Key.StartsWith("prometheus-net", StringComparison.Ordinal) ? text.Length : adaptedText.Length;
            var same = group.Key.StartsWith("prometheus-net", StringComparison.Ordinal) ? families : kept;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {group.Key} | {Median(group.Select(r => r.ScrapeUs)):F1} | {Median(group.Select(r => r.ScrapeBytes)):N0} | {Median(group.Select(r => r.IncNs)):F1} | {size:N0} | {same} of {families} |"));
        }

        return 0;
    }

    private static string Scrape(CollectorRegistry registry)
    {
        using var output = new MemoryStream();
        registry.CollectAndExportAsTextAsync(output, ExpositionFormat.PrometheusText).GetAwaiter().GetResult();
        return System.Text.Encoding.UTF8.GetString(output.ToArray());
    }

    private static double ScrapeTime(CollectorRegistry registry, int scrapes, out double bytesPerScrape)
    {
        for (var i = 0; i < 100; i++)
        {
            registry.CollectAndExportAsTextAsync(Stream.Null, ExpositionFormat.PrometheusText).GetAwaiter().GetResult();
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < scrapes; i++)
        {
            registry.CollectAndExportAsTextAsync(Stream.Null, ExpositionFormat.PrometheusText).GetAwaiter().GetResult();
        }

        var elapsed = watch.Elapsed;
        bytesPerScrape = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)scrapes;
        return elapsed.TotalMicroseconds / scrapes;
    }

    private static double IncTime(Action increment)
    {
        const int Increments = 2_000_000;
        for (var i = 0; i < 10_000; i++)
        {
            increment();
        }

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < Increments; i++)
        {
            increment();
        }

        return watch.Elapsed.TotalNanoseconds / Increments;
    }

    /// <summary>One instrument per family of <paramref name="exposition"/>, and one measurement per series it shows.</summary>
    private static Dictionary<string, Counter<double>> Mirror(Meter meter, string exposition)
    {
        var help = new Dictionary<string, string>(StringComparer.Ordinal);
        var counters = new Dictionary<string, Counter<double>>(StringComparer.Ordinal);
        var gauges = new Dictionary<string, UpDownCounter<double>>(StringComparer.Ordinal);
        var histograms = new Dictionary<string, Histogram<double>>(StringComparer.Ordinal);
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var parts = line[7..].Split(' ', 2);
                help[parts[0]] = parts[1];
            }
            else if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line[7..].Split(' ');
                switch (parts[1])
                {
                    case "counter": counters[parts[0]] = meter.CreateCounter<double>(parts[0], description: help[parts[0]]); break;
                    case "gauge": gauges[parts[0]] = meter.CreateUpDownCounter<double>(parts[0], description: help[parts[0]]); break;
                    default: histograms[parts[0]] = meter.CreateHistogram<double>(parts[0], description: help[parts[0]]); break;
                }
            }
            else if (line.Length > 0 && !line.Contains("_bucket", StringComparison.Ordinal) && !line.Contains("_sum", StringComparison.Ordinal))
            {
                var name = line[..line.IndexOfAny(['{', ' '])];
                var tags = Tags(line);
                if (counters.TryGetValue(name, out var counter))
                {
                    counter.Add(1, tags);
                }
                else if (gauges.TryGetValue(name, out var gauge))
                {
                    gauge.Add(1, tags);
                }
                else if (histograms.TryGetValue(name.Replace("_count", "", StringComparison.Ordinal), out var histogram))
                {
                    histogram.Record(1, tags);
                }
            }
        }

        return counters;
    }

    private static KeyValuePair<string, object?>[] Tags(string sample)
    {
        var open = sample.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            return [];
        }

        var inside = sample[(open + 1)..sample.IndexOf('}', StringComparison.Ordinal)];
        return [.. inside.Split(',').Select(pair => pair.Split('=', 2)).Select(kv => new KeyValuePair<string, object?>(kv[0], kv[1].Trim('"')))];
    }

    private static (int Families, int Kept) SameFamilies(string original, string adapted)
    {
        var lines = original.Split('\n').Where(l => l.StartsWith("# ", StringComparison.Ordinal)).ToList();
        var other = adapted.Split('\n').ToHashSet(StringComparer.Ordinal);
        var families = lines.Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
        var kept = families.Count(f => lines.Where(l => l.Split(' ')[2] == f).All(other.Contains));
        return (families.Count, kept);
    }

    private static int Samples(string exposition) => exposition.Split('\n').Count(l => l.Length > 0 && l[0] != '#');

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
