using System.Globalization;
using System.Net;
using System.Text;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Faults;

/// <summary>
/// The three services as processes around a finite replay of known totals, and the checks every
/// fault scenario ends with: the flow log (lines, batches, summed counters) and the Prometheus
/// exposition (summed flow counters) hold each flow exactly once, and nothing was counted as a
/// fault. A scenario starts the pipeline, does its damage, then calls <see cref="AssertExactlyOnceAsync"/>.
/// </summary>
internal sealed class FaultPipeline : IAsyncDisposable
{
    public const string FlowLogQueue = "egressd-exporter-flow-log";
    public const string PrometheusQueue = "egressd-exporter-prometheus";
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The exporter's memory budget: egressd's exporter limit, whole-process resident memory.</summary>
    public const long ExporterBudgetBytes = 512L << 20;

    private readonly Dictionary<string, string?> bus;
    private readonly List<ServiceProcess> retired = [];
    private readonly List<ServiceProcess> collectors = [];
    private readonly List<ServiceProcess> exporters = [];

    /// <param name="prometheusShards">Above 1, the Prometheus sink is split over that many shard queues, which exporter replicas share.</param>
    public FaultPipeline(Dictionary<string, string?> bus, string name, int flows, int flowsPerPart, int prometheusShards = 1)
    {
        this.bus = prometheusShards > 1
            ? With(bus, ("Egressd:Exporter:Prometheus:Shards", prometheusShards.ToString(CultureInfo.InvariantCulture)), ("Egressd:Exporter:Prometheus:ShardTakeover", "00:00:04"))
            : bus;
        PrometheusShards = prometheusShards;
        Flows = flows;
        FlowsPerPart = flowsPerPart;
        Directory = System.IO.Directory.CreateTempSubdirectory($"egressd-fault-{name}-").FullName;
        FlowLog = Path.Combine(Directory, "flows.jsonl");
        Replay = Path.Combine(Directory, "replay.jsonl");
        var text = new StringBuilder();
        for (var i = 0; i < flows; i++)
        {
            var (tx, rx) = ((ulong)(1000 + i), (ulong)(50_000 + (i * 7)));
            (TxBytes, RxBytes, TxPackets, RxPackets) = (TxBytes + tx, RxBytes + rx, TxPackets + 3, RxPackets + 4);
            text.Append(CultureInfo.InvariantCulture,
                $"{{\"proto\":6,\"src\":\"10.{1 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}\",\"dst\":\"10.{100 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}\",\"tx_bytes\":{tx},\"rx_bytes\":{rx},\"tx_packets\":3,\"rx_packets\":4}}\n");
        }

        File.WriteAllText(Replay, text.ToString());
    }

    public int Flows { get; }

    public int FlowsPerPart { get; }

    public int PrometheusShards { get; }

    /// <summary>The queues of the sinks, which must be empty once every flow has arrived.</summary>
    public IEnumerable<string> SinkQueues => PrometheusShards > 1
        ? [FlowLogQueue, .. Enumerable.Range(0, PrometheusShards).Select(Egressd.Exporter.Sinks.Prometheus.Sharding.PrometheusShards.Queue)]
        : [FlowLogQueue, PrometheusQueue];

    public string Directory { get; }

    public string FlowLog { get; }

    public string Replay { get; }

    public ulong TxBytes { get; }

    public ulong RxBytes { get; }

    public ulong TxPackets { get; }

    public ulong RxPackets { get; }

    public ServiceProcess? Exporter { get; private set; }

    public ServiceProcess? Enricher { get; private set; }

    /// <summary>The nodes whose collectors replayed the file once each.</summary>
    public List<string> Nodes { get; } = [];

    public ServiceProcess StartExporter()
    {
        Retire(Exporter);
        Exporter = ServiceProcess.Start("exporter", Repo.ServiceDll("exporter", "Egressd.Exporter"), With(bus,
            ("Egressd:Exporter:FlowLog:Path", FlowLog),
            ("Egressd:Exporter:FlowLog:MaxFileBytes", (64 << 20).ToString(CultureInfo.InvariantCulture)),
            ("Egressd:Exporter:FlowLog:RotatedFiles", "50")));
        exporters.Add(Exporter);
        return Exporter;
    }

    /// <summary>
    /// One more exporter replica holding Prometheus shards only (its flow log off): with
    /// <see cref="PrometheusShards"/> above 1, it takes its share of the shards from <see cref="Exporter"/>.
    /// </summary>
    public ServiceProcess StartShardReplica()
    {
        var replica = ServiceProcess.Start("exporter-shards", Repo.ServiceDll("exporter", "Egressd.Exporter"), With(bus,
            ("Egressd:Exporter:FlowLog:Enabled", "false")));
        exporters.Add(replica);
        retired.Add(replica);
        return replica;
    }

    /// <summary>The flow counters <see cref="Exporter"/>'s Prometheus sink shows now, and how many nodes' flows there are so far.</summary>
    public async Task<PrometheusTotals> PrometheusTotalsAsync()
    {
        var metrics = await Exporter!.GetStringAsync("/metrics");
        return new PrometheusTotals(
            Exposition.Value(metrics, "egressd_transmit_bytes_total"), Exposition.Value(metrics, "egressd_received_bytes_total"),
            Exposition.Value(metrics, "egressd_transmit_packets_total"), Exposition.Value(metrics, "egressd_received_packets_total"),
            Nodes.Count);
    }

    /// <summary>The highest whole-process peak RSS of every exporter this scenario ran, killed ones included.</summary>
    public long ExporterPeakRssBytes() => exporters.Max(e => e.PeakRssBytes());

    public ServiceProcess StartEnricher()
    {
        Retire(Enricher);
        return Enricher = ServiceProcess.Start("enricher", Repo.ServiceDll("enricher", "Egressd.Enricher"), bus);
    }

    /// <summary>A collector replaying the file once as a new node.</summary>
    public ServiceProcess StartCollector()
    {
        var node = $"fault-{Nodes.Count}-" + Guid.NewGuid().ToString("N")[..6];
        Nodes.Add(node);
        var collector = ServiceProcess.Start("collector-" + node, Repo.ServiceDll("collector", "Egressd.Collector"), With(bus,
            ("Egressd:Collector:NodeName", node),
            ("Egressd:Collector:Source", "replay"),
            ("Egressd:Collector:ReplayFile", Replay),
            ("Egressd:Collector:MaxFlowsPerPart", FlowsPerPart.ToString(CultureInfo.InvariantCulture)),
            ("Egressd:Collector:ReadInterval", "00:00:00.500")));
        collectors.Add(collector);
        return collector;
    }

    /// <summary>Exporter and enricher up and ready (the exporter first, so its queues exist).</summary>
    public async Task StartConsumersAsync()
    {
        await StartExporter().WaitUntilAsync("/readyz", HttpStatusCode.OK, StartTimeout);
        await StartEnricher().WaitUntilAsync("/readyz", HttpStatusCode.OK, StartTimeout);
    }

    /// <summary>
    /// Spins until the flow log's files grow past their size now: the exporter is then in the
    /// middle of a write, the moment the crash scenarios strike.
    /// </summary>
    public bool WaitForFlowLogGrowth(TimeSpan timeout)
    {
        var start = Size();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Size() > start)
            {
                return true;
            }

            Thread.Yield();
        }

        return false;
    }

    /// <summary>Whole lines the flow log holds for this scenario's nodes, in every file.</summary>
    public int Lines() => AllFiles().Sum(f => FlowLogFile.ReadAll(f).Count(l => Nodes.Contains(l.Node)));

    /// <summary>Every flow of every node so far in the flow log, and every sink queue empty.</summary>
    public async Task<bool> DrainedAsync(Func<string, Task<long>> messageCount)
    {
        if (Lines() < Flows * Nodes.Count)
        {
            return false;
        }

        foreach (var queue in SinkQueues)
        {
            if (await messageCount(queue) != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// What each queue of the pipeline holds (-1: missing or unreadable), for a failure's message:
    /// where the flows that never arrived are waiting, or that they are nowhere.
    /// </summary>
    public async Task<string> QueueDepthsAsync(Func<string, Task<long>> messageCount)
    {
        var depths = new List<string>();
        foreach (var queue in SinkQueues.Prepend("egressd-enricher"))
        {
            foreach (var name in new[] { queue, queue + "_error", queue + "_dead" })
            {
                depths.Add($"{name}={await messageCount(name)}");
            }
        }

        return "queues: " + string.Join(", ", depths);
    }

    /// <summary>
    /// Waits for every flow of every node to arrive and the queues to drain, then asserts lost = 0
    /// and duplicated = 0 in the flow log and in Prometheus, and no fault counted anywhere.
    /// </summary>
    /// <param name="since">
    /// When an exporter replica died with counts of its own (they die with it), Prometheus is
    /// checked from these totals of <see cref="Exporter"/> on: exact for the nodes started after them.
    /// </param>
    public async Task AssertExactlyOnceAsync(Func<string, Task<long>> messageCount, ITestOutputHelper? output, PrometheusTotals? since = null)
    {
        var expected = Flows * Nodes.Count;
        var drained = await Eventually.TrueAsync(() => DrainedAsync(messageCount), TimeSpan.FromSeconds(240), TimeSpan.FromSeconds(1));
        if (!drained)
        {
            Assert.Fail($"not every flow arrived: {Lines()} of {expected} lines; {await QueueDepthsAsync(messageCount)}\n{Exporter?.Tail()}\n{Enricher?.Tail()}\n{string.Join('\n', collectors.Select(c => c.Tail(10)))}");
        }

        foreach (var collector in collectors.Where(c => !c.HasExited))
        {
            // Later windows are empty: the replay is read once. Wait past them so a late duplicate would show.
            await collector.WaitForMoreReadsAsync(3, StartTimeout);
        }

        var lines = AllFiles().SelectMany(FlowLogFile.ReadAll).Where(l => Nodes.Contains(l.Node)).ToList();
        var metrics = await Exporter!.GetStringAsync("/metrics");
        var report = $"flow log: {lines.Count} lines of {expected}, tx {Sum(lines, l => l.TxBytes)} of {TxBytes * (ulong)Nodes.Count}; "
            + $"prometheus: tx {Exposition.Value(metrics, "egressd_transmit_bytes_total")}, rx {Exposition.Value(metrics, "egressd_received_bytes_total")}; "
            + $"duplicates skipped by sinks: {Exposition.Value(metrics, "egressd_exporter_duplicates_skipped_total")}";
        var peakRss = ExporterPeakRssBytes();
        output?.WriteLine(report + $"; exporter peak RSS {peakRss >> 20} MiB");

        // Flow log: every line once, every batch whole, the counters' sums exact.
        Assert.Equal(expected, lines.Count);
        var batches = lines.GroupBy(l => l.BatchId).ToList();
        Assert.Equal(expected / FlowsPerPart, batches.Count);
        Assert.All(batches, b => Assert.Equal(Enumerable.Range(1, FlowsPerPart), b.Select(l => l.BatchLine)));
        Assert.Equal(expected, lines.Select(l => (l.Node, l.SrcIp, l.DstIp)).Distinct().Count());
        var nodes = (ulong)Nodes.Count;
        Assert.Equal(TxBytes * nodes, Sum(lines, l => l.TxBytes));
        Assert.Equal(RxBytes * nodes, Sum(lines, l => l.RxBytes));
        Assert.Equal(TxPackets * nodes, Sum(lines, l => l.TxPackets));
        Assert.Equal(RxPackets * nodes, Sum(lines, l => l.RxPackets));

        // Prometheus: the exporter's own exposition, summed over every series.
        var start = since ?? new PrometheusTotals(0, 0, 0, 0, 0);
        var counted = (ulong)(Nodes.Count - start.Nodes);
        Assert.Equal(start.TxBytes + (TxBytes * counted), Exposition.Value(metrics, "egressd_transmit_bytes_total"));
        Assert.Equal(start.RxBytes + (RxBytes * counted), Exposition.Value(metrics, "egressd_received_bytes_total"));
        Assert.Equal(start.TxPackets + (TxPackets * counted), Exposition.Value(metrics, "egressd_transmit_packets_total"));
        Assert.Equal(start.RxPackets + (RxPackets * counted), Exposition.Value(metrics, "egressd_received_packets_total"));

        // Nothing was parked, and nothing was counted as if it had been (a consume cancelled by a broker outage is not a fault).
        Assert.Equal(0, Exposition.Value(metrics, "egressd_bus_messages_faulted_total"));
        Assert.Equal(0, Exposition.Value(await Enricher!.GetStringAsync("/metrics"), "egressd_bus_messages_faulted_total"));

        // The exporter held its memory budget through the fault, every one of its processes.
        Assert.True(peakRss <= ExporterBudgetBytes, $"the exporter's peak RSS was {peakRss >> 20} MiB, over its {ExporterBudgetBytes >> 20} MiB budget");
        foreach (var queue in SinkQueues.Append(Egressd.Enricher.FlowBatchCollectedConsumerDefinition.Queue))
        {
            foreach (var parked in new[] { "_error", "_skipped", "_dead" })
            {
                Assert.True(await messageCount(queue + parked) <= 0, $"{queue + parked} holds messages");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in collectors.Concat(retired).Append(Enricher).Append(Exporter))
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }
        }

        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private void Retire(ServiceProcess? process)
    {
        if (process is not null)
        {
            retired.Add(process);
        }
    }

    private long Size() => AllFiles().Sum(f =>
    {
        try
        {
            return new FileInfo(f).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    });

    private List<string> AllFiles() =>
        [.. System.IO.Directory.GetFiles(Directory, Path.GetFileName(FlowLog) + "*")];

    private static ulong Sum(IEnumerable<FlowLogEntry> lines, Func<FlowLogEntry, ulong> value) =>
        lines.Aggregate(0UL, (sum, l) => sum + value(l));

    private static Dictionary<string, string?> With(Dictionary<string, string?> settings, params (string Key, string Value)[] more)
    {
        var all = new Dictionary<string, string?>(settings);
        foreach (var (key, value) in more)
        {
            all[key] = value;
        }

        return all;
    }
}
