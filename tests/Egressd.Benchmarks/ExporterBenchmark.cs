using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Runtime;
using System.Text.Json;
using Egressd.Contracts;
using Egressd.Exporter;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Shared.Bus;
using Egressd.Shared.Hosting;
using Egressd.Shared.Network;
using MassTransit;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace Egressd.Benchmarks;

/// <summary>
/// The Prometheus sink at 100,000 and 1,000,000 live series, against the same series kept as
/// prometheus-net labelled children: flows applied per second, the time of a /metrics scrape over
/// HTTP, and memory. Each case runs in a fresh process, so its RSS is its own.
/// </summary>
internal static class ExporterBenchmark
{
    private const int BatchSize = 5000;
    private const int Scrapes = 5;

    // A service applies batches for days: the figure is the runtime's fully optimized code, not the
    // first calls, which tiered compilation runs unoptimized (about half the rate at 100,000 series).
    private const int WarmupPasses = 10;
    private const int Passes = 5;
    private const string Compact = "compact";
    private const string PrometheusNet = "prometheus-net";

    public static async Task<int> RunAsync(string[] args)
    {
        var sizes = Option(args, "--series", "100000,1000000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var results = new List<CaseResult>();
        foreach (var series in sizes)
        {
            foreach (var impl in Option(args, "--impl", $"{Compact},{PrometheusNet}").Split(','))
            {
                Console.Error.WriteLine($"{impl}, {series:N0} series ...");
                results.Add(await RunChildAsync(impl, series));
            }
        }

        Console.WriteLine();
        Console.WriteLine("| figure | " + string.Join(" | ", results.Select(r => $"{r.Impl}, {r.Series:N0} series")) + " |");
        Console.WriteLine("| --- |" + string.Concat(results.Select(_ => " --- |")));
        Row($"flows/s into existing series (median of {Passes} passes after {WarmupPasses} unmeasured)", r => $"{r.UpdateFlowsPerSecond:N0}");
        Row($"flows per CPU second into existing series (median of {Passes} passes)", r => $"{r.UpdateFlowsPerCpuSecond:N0}");
        Row("flows/s creating the series (incl. making the flows)", r => $"{r.CreateFlowsPerSecond:N0}");
        Row("flows/s through the in-memory bus (dedup, apply)", r => r.BusFlowsPerSecond > 0 ? $"{r.BusFlowsPerSecond:N0}" : "—");
        Row($"/metrics scrape over HTTP from another process (median of {Scrapes})", r => $"{r.ScrapeSeconds:F2} s");
        Row($"rendering alone, to a null stream (median of {Scrapes})", r => $"{r.RenderSeconds:F2} s");
        Row("scrape size", r => $"{r.ScrapeBytes / 1048576.0:N0} MiB");
        Row("RSS idle → with the series", r => $"{r.RssBefore / 1048576.0:N0} → {r.RssAfter / 1048576.0:N0} MiB");
        Row("RSS per live series", r => $"{(r.RssAfter - r.RssBefore) / (double)r.Series:N0} B");
        Row("managed heap per live series", r => $"{r.HeapPerSeries:N0} B");
        Row("peak RSS (the scrapes included)", r => $"{r.RssPeak / 1048576.0:N0} MiB");
        return 0;

        void Row(string name, Func<CaseResult, string> value) =>
            Console.WriteLine($"| {name} | " + string.Join(" | ", results.Select(value)) + " |");
    }

    /// <summary>One case in this process: the exporter host, the series in one store or the other, the measurements.</summary>
    public static async Task<int> ChildAsync(string impl, int series)
    {
        var app = EgressdHost.Build(
            [
                "--Egressd:Bus:Transport=inmemory",
                "--Egressd:Http:BindAddress=127.0.0.1",
                "--Egressd:Http:Port=0",
                "--Egressd:Exporter:FlowLog:Enabled=false",
                $"--Egressd:Exporter:Prometheus:MaxSeries={series}",
                "--Egressd:Exporter:Prometheus:IdleTimeout=01:00:00",
                "--Logging:LogLevel:Default=Warning",
            ],
            "egressd-exporter", 0, b => b.AddExporter());
        var registry = Metrics.NewCustomRegistry();
        app.MapMetrics("/prometheus-net", registry);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var path = impl == Compact ? "/metrics" : "/prometheus-net";

        var store = app.Services.GetRequiredService<FlowSeriesStore>();
        Action<FlowBatchEnriched> apply = impl == Compact ? batch => store.Apply(batch) : new ChildCounters(registry).Apply;

        Settle();
        var rssBefore = Rss().Current;
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        // Create every series, the flows made as they go (never all held at once: they would count as series memory).
        var create = Stopwatch.StartNew();
        for (var first = 0; first < series; first += BatchSize)
        {
            apply(Flows(first, Math.Min(BatchSize, series - first), series, seed: 0));
        }

        create.Stop();
        Settle();
        var rssAfter = Rss().Current;
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        if (impl == Compact && store.Count != series)
        {
            throw new InvalidOperationException($"{store.Count} series, expected {series}");
        }

        // The scrape is timed by the parent process, as Prometheus would scrape: from outside.
        Console.WriteLine($"READY {new Uri(address, path)}");
        if (await Console.In.ReadLineAsync() != "SCRAPED")
        {
            throw new InvalidOperationException("the parent did not scrape");
        }

        var peak = Rss().Peak;

        // The rendering alone, without HTTP: the store (or registry) writing to a null stream.
        var renders = new List<double>();
        var exposition = app.Services.GetServices<IMetricsSource>().Single();
        for (var i = 0; i < Scrapes; i++)
        {
            var watch = Stopwatch.StartNew();
            if (impl == Compact)
            {
                var pipe = PipeWriter.Create(Stream.Null);
                await exposition.WriteAsync(pipe, CancellationToken.None);
                await pipe.CompleteAsync();
            }
            else
            {
                await registry.CollectAndExportAsTextAsync(Stream.Null);
            }

            renders.Add(watch.Elapsed.TotalSeconds);
        }

        // Steady state: the same series again, from batches made beforehand (fresh strings, as off the wire).
        var batches = Enumerable.Range(0, (series + BatchSize - 1) / BatchSize)
            .Select(b => Flows(b * BatchSize, Math.Min(BatchSize, series - (b * BatchSize)), series, seed: 1)).ToList();
        var updates = new List<double>();
        var updatesPerCpu = new List<double>();
        using var self = Process.GetCurrentProcess();
        for (var pass = 0; pass < WarmupPasses; pass++)
        {
            batches.ForEach(apply);
        }

        for (var pass = 0; pass < Passes; pass++)
        {
            self.Refresh();
            var cpu = self.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            foreach (var batch in batches)
            {
                apply(batch);
            }

            updates.Add(series / watch.Elapsed.TotalSeconds);
            self.Refresh();
            // The process's CPU time as well: on a shared machine it moves far less than the clock.
            updatesPerCpu.Add(series / (self.TotalProcessorTime - cpu).TotalSeconds);
        }

        double busRate = 0;
        if (impl == Compact)
        {
            busRate = await ThroughBusAsync(app.Services, store, batches);
        }

        var result = new CaseResult(impl, series, Measure.Median(updates), Measure.Median(updatesPerCpu), series / create.Elapsed.TotalSeconds, busRate,
            0, Measure.Median(renders), 0, rssBefore, rssAfter, peak, (heapAfter - heapBefore) / (double)series);
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
        await app.StopAsync();
        return 0;
    }

    /// <summary>The consumer's whole path: publish, serialize, deliver, deserialize, drop duplicates, apply.</summary>
    private static async Task<double> ThroughBusAsync(IServiceProvider services, FlowSeriesStore store, List<FlowBatchEnriched> batches)
    {
        var bus = services.GetRequiredService<IBus>();
        var boot = Guid.NewGuid().ToString("N");
        var flows = batches.Sum(b => b.Flows.Count);
        var probe = batches[0];
        var context = new FlowLabelContext(new NetworkOptions().PublicAddresses());
        var labels = store.LabelNames.Select(l => FlowLabels.All[l].Value(probe.Flows[0], probe.SourceOf(0), probe.DestinationOf(0), context)).ToList();
        var before = store.Find(labels)![0];
        var watch = Stopwatch.StartNew();
        var window = 0;
        foreach (var batch in batches)
        {
            var message = batch with
            {
                Header = new BatchHeader
                {
                    Id = new BatchId { Node = "bench", BootId = boot, Window = ++window, Part = 0, PartCount = 1 },
                    Node = "bench",
                    WindowStart = DateTimeOffset.UtcNow,
                    WindowEnd = DateTimeOffset.UtcNow,
                    Source = FlowSource.Replay,
                },
            };
            await bus.PublishBatchAsync(message, message.Header.Id, TimeSpan.FromSeconds(60), CancellationToken.None);
        }

        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (Applied() < window && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var seconds = watch.Elapsed.TotalSeconds;
        if (store.Find(labels)![0] <= before || Applied() < window)
        {
            throw new InvalidOperationException("the bus did not deliver every batch");
        }

        return flows / seconds;

        double Applied() => services.GetRequiredService<Egressd.Exporter.Sinks.SinkMetrics>().Applied.WithLabels(PrometheusSink.Name).Value;
    }

    /// <summary>
    /// Flows for series <paramref name="first"/>.. : a cluster of series/10 pods, each talking to
    /// ten others, in 200 namespaces on 500 nodes in 3 zones; every label of egressd's set filled.
    /// </summary>
    private static FlowBatchEnriched Flows(int first, int count, int series, int seed)
    {
        var pods = Math.Max(131, series / 10);
        var flows = new List<EnrichedFlow>(count);
        // As wire v2 decodes a batch: each pod once in the endpoint table, its flows referring to it by index.
        var entries = new Dictionary<int, int>();
        var endpoints = new List<FlowEndpoint>();
        int Shared(int pod)
        {
            if (!entries.TryGetValue(pod, out var entry))
            {
                entry = endpoints.Count;
                entries.Add(pod, entry);
                endpoints.Add(Endpoint(pod));
            }

            return entry;
        }

        for (var i = first; i < first + count; i++)
        {
            var pod = i / 10;
            // Ten distinct peers per pod: 13 * (0..9) differ modulo anything over 117.
            var peer = (int)(((pod * 7L) + ((i % 10) * 13L) + 1) % pods);
            flows.Add(new EnrichedFlow
            {
                Flow = new FlowRecord
                {
                    SourceIp = IpAddr.Parse(Ip(pod)),
                    DestinationIp = IpAddr.Parse(Ip(peer)),
                    Protocol = 6,
                    TxBytes = (ulong)(1000 + seed + (i % 1000)),
                    RxBytes = (ulong)(5000 + (i % 777)),
                    TxPackets = 10,
                    RxPackets = 12,
                },
                SourceEndpoint = Shared(pod),
                DestinationEndpoint = Shared(peer),
                TrafficClass = TrafficClass.Unknown,
            });
        }

        return new FlowBatchEnriched
        {
            Header = new BatchHeader
            {
                Id = new BatchId { Node = "bench", BootId = "bench", Window = first, Part = 0, PartCount = 1 },
                Node = "bench",
                WindowStart = DateTimeOffset.UnixEpoch,
                WindowEnd = DateTimeOffset.UnixEpoch,
                Source = FlowSource.Replay,
            },
            Endpoints = [.. endpoints],
            Flows = flows,
        };

        static string Ip(int pod) => $"10.{(pod >> 16) & 255}.{(pod >> 8) & 255}.{pod & 255}";

        static FlowEndpoint Endpoint(int pod) => new()
        {
            Pod = $"app-{pod % 997}-7d9f8c6b5-{pod:x5}",
            Namespace = $"team-{pod % 200}",
            Node = $"ip-10-0-{pod % 500 / 250}-{pod % 250}.ec2.internal",
            Zone = $"eu-west-1{(char)('a' + (pod % 3))}",
        };
    }

    private static async Task<long> ScrapeAsync(HttpClient http, Uri url)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 20];
        long total = 0;
        int n;
        while ((n = await body.ReadAsync(buffer)) > 0)
        {
            total += n;
        }

        return total;
    }

    /// <summary>Collects everything and hands freed memory back to the system, so RSS shows what is live.</summary>
    private static void Settle()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    private static (long Current, long Peak) Rss()
    {
        var status = File.ReadAllLines("/proc/self/status");
        long Kb(string key) => long.Parse(status.Single(l => l.StartsWith(key, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        return (Kb("VmRSS:"), Kb("VmHWM:"));
    }

    private static async Task<CaseResult> RunChildAsync(string impl, int series)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ExporterBenchmark).Assembly.Location);
        }

        foreach (var argument in new[] { "exporter-child", impl, series.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        // The exporter's own GC (the web SDK's default, server GC), not this benchmark's.
        start.Environment["DOTNET_gcServer"] = "1";
        using var process = Process.Start(start)!;
        CaseResult? result = null;
        var scrapes = new List<double>();
        long bytes = 0;
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("READY ", StringComparison.Ordinal))
            {
                var url = new Uri(line["READY ".Length..]);
                using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
                // One scrape first: the rendering code has not yet run on series (tier-0 JIT); a
                // scraper comes every 15 to 60 seconds, so the steady state is what counts.
                await ScrapeAsync(http, url);
                for (var i = 0; i < Scrapes; i++)
                {
                    var watch = Stopwatch.StartNew();
                    bytes = await ScrapeAsync(http, url);
                    scrapes.Add(watch.Elapsed.TotalSeconds);
                }

                Console.Error.WriteLine($"  scrapes: {string.Join(", ", scrapes.Select(t => $"{t:F2} s"))}");

                await process.StandardInput.WriteLineAsync("SCRAPED");
                await process.StandardInput.FlushAsync();
            }
            else if (line.StartsWith("RESULT ", StringComparison.Ordinal))
            {
                result = JsonSerializer.Deserialize<CaseResult>(line["RESULT ".Length..])! with
                {
                    ScrapeSeconds = Measure.Median(scrapes),
                    ScrapeBytes = bytes,
                };
            }
        }

        await process.WaitForExitAsync();
        return result ?? throw new InvalidOperationException($"{impl} at {series} series failed (exit {process.ExitCode})");
    }

    private static string Option(string[] args, string name, string fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
    }

    private sealed record CaseResult(
        string Impl, int Series, double UpdateFlowsPerSecond, double UpdateFlowsPerCpuSecond, double CreateFlowsPerSecond, double BusFlowsPerSecond,
        double ScrapeSeconds, double RenderSeconds, long ScrapeBytes, long RssBefore, long RssAfter, long RssPeak, double HeapPerSeries);

    /// <summary>The same four counters with the same labels, as prometheus-net labelled children.</summary>
    private sealed class ChildCounters
    {
        private readonly Counter[] counters;
        private readonly FlowLabelValue[] extractors = [.. FlowLabels.PodLevel.Select(l => FlowLabels.All[l].Value)];
        private readonly FlowLabelContext context = new(new PublicAddresses(CidrSet.Parse([])));

        public ChildCounters(CollectorRegistry registry)
        {
            var factory = Metrics.WithCustomRegistry(registry);
            var labels = FlowLabels.PodLevel.ToArray();
            counters = [.. FlowMetrics.Families.Select(f => factory.CreateCounter(f.Name, f.Help, labels))];
        }

        public void Apply(FlowBatchEnriched batch)
        {
            for (var i = 0; i < batch.Flows.Count; i++)
            {
                var flow = batch.Flows[i];
                // A fresh array each time, as WithLabels(params string[]) makes: a child may keep it.
                var values = new string[extractors.Length];
                for (var d = 0; d < extractors.Length; d++)
                {
                    values[d] = extractors[d](flow, batch.SourceOf(i), batch.DestinationOf(i), context);
                }

                counters[0].WithLabels(values).Inc(flow.Flow.TxBytes);
                counters[1].WithLabels(values).Inc(flow.Flow.RxBytes);
                counters[2].WithLabels(values).Inc(flow.Flow.TxPackets);
                counters[3].WithLabels(values).Inc(flow.Flow.RxPackets);
            }
        }
    }
}
