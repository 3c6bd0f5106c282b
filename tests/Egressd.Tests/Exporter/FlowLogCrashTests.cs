using System.Globalization;
using System.Net;
using System.Text;
using Egressd.Enricher;
using Egressd.Exporter.Sinks.FlowLog;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Exporter;

/// <summary>
/// The flow log against <c>kill -9</c> of the exporter while it writes large batches: three
/// services as processes on a real RabbitMQ, a replayed file of known totals, and the file read
/// back at the end must hold every flow exactly once.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class FlowLogCrashTests(RabbitMqBroker broker)
{
    private const string Queue = "egressd-exporter-flow-log";
    private const int Flows = 30_000;
    private const int FlowsPerPart = 5_000;
    private const int Kills = 6;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Exporter_killed_in_the_middle_of_flow_log_writes_loses_and_duplicates_nothing()
    {
        var output = TestContext.Current.TestOutputHelper;
        await broker.PurgeAsync(FlowBatchCollectedConsumerDefinition.Queue, Queue);
        var bus = await broker.BusSettingsAsync();
        var node = "crash-" + Guid.NewGuid().ToString("N")[..8];
        var directory = Directory.CreateTempSubdirectory("egressd-flowlog-crash-").FullName;
        var flowLog = Path.Combine(directory, "flows.jsonl");
        var (replay, txTotal, rxTotal) = WriteReplay(directory);
        var exporterSettings = With(bus,
            ("Egressd:Exporter:FlowLog:Path", flowLog),
            // A few batches a file, so kills also land around rotations.
            ("Egressd:Exporter:FlowLog:MaxFileBytes", (8 << 20).ToString(CultureInfo.InvariantCulture)),
            ("Egressd:Exporter:FlowLog:RotatedFiles", "50"),
            ("Egressd:Exporter:Prometheus:Enabled", "false"),
            ("Logging:LogLevel:Egressd", "Debug"));
        var skipped = 0;
        var peakRss = 0L;

        // The exporter declares its queue, then goes away so the batches wait for it there.
        await using (var first = StartExporter(exporterSettings))
        {
            await first.WaitUntilAsync("/readyz", HttpStatusCode.OK, StartTimeout);
        }

        await using var enricher = ServiceProcess.Start("enricher", Repo.ServiceDll("enricher", "Egressd.Enricher"), bus);
        await enricher.WaitUntilAsync("/readyz", HttpStatusCode.OK, StartTimeout);
        await using var collector = ServiceProcess.Start("collector", Repo.ServiceDll("collector", "Egressd.Collector"), With(bus,
            ("Egressd:Collector:NodeName", node),
            ("Egressd:Collector:Source", "replay"),
            ("Egressd:Collector:ReplayFile", replay),
            ("Egressd:Collector:MaxFlowsPerPart", FlowsPerPart.ToString(CultureInfo.InvariantCulture)),
            ("Egressd:Collector:ReadInterval", "00:00:00.500")));
        Assert.True(await Eventually.TrueAsync(async () => await broker.MessageCountAsync(Queue) >= Flows / FlowsPerPart, TimeSpan.FromSeconds(120)),
            $"the batches never reached the exporter's queue\n{collector.Tail()}\n{enricher.Tail()}");

        // Kill the exporter the moment the flow log grows: the first sign of a write in progress.
        var torn = 0;
        var killed = 0;
        for (var round = 0; round < Kills && Lines(flowLog, node) < Flows; round++)
        {
            await using var exporter = StartExporter(exporterSettings);
            var grew = await Task.Run(() => WaitForGrowth(flowLog, exporter, TimeSpan.FromSeconds(60)));
            await exporter.KillAsync();
            peakRss = Math.Max(peakRss, exporter.PeakRssBytes());
            skipped += exporter.Output.Count(l => l.Contains("\"EventId\":3303", StringComparison.Ordinal));
            if (!grew)
            {
                break;
            }

            killed++;
            var tail = TailState(flowLog);
            torn += tail > 0 ? 1 : 0;
            output?.WriteLine($"kill {killed}: {Lines(flowLog, node)} whole lines on disk, {tail} bytes after the last whole batch");
        }

        // A last exporter finishes the work and stops cleanly: every message is then consumed and acknowledged.
        await using (var last = StartExporter(exporterSettings))
        {
            Assert.True(await Eventually.TrueAsync(async () => Lines(flowLog, node) >= Flows && await broker.MessageCountAsync(Queue) == 0, TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(1)),
                $"the flow log never got every flow\n{last.Tail()}");
            // The killed exporters may have written everything before this one even listens.
            await last.WaitUntilAsync("/readyz", System.Net.HttpStatusCode.OK, TimeSpan.FromSeconds(60));
            var metrics = await last.GetStringAsync("/metrics");
            output?.WriteLine(string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("egressd_exporter_flow_log_", StringComparison.Ordinal))));
            await last.StopAsync();
            peakRss = Math.Max(peakRss, last.PeakRssBytes());
        }

        Assert.Equal(0, await broker.MessageCountAsync(Queue));
        var lines = AllFiles(flowLog).SelectMany(FlowLogFile.ReadAll).Where(l => l.Node == node).ToList();
        output?.WriteLine($"{killed} kills, {torn} of them in the middle of a write; {skipped} redelivered batches skipped by the killed exporters; {lines.Count} lines in {AllFiles(flowLog).Count} files; exporter peak RSS {peakRss >> 20} MiB");
        Assert.Equal(Flows, lines.Count);
        var batches = lines.GroupBy(l => l.BatchId).ToList();
        Assert.Equal(Flows / FlowsPerPart, batches.Count);
        Assert.All(batches, b => Assert.Equal(Enumerable.Range(1, FlowsPerPart), b.Select(l => l.BatchLine)));
        Assert.Equal(Flows, lines.Select(l => (l.SrcIp, l.DstIp)).Distinct().Count());
        Assert.Equal(txTotal, lines.Aggregate(0UL, (sum, l) => sum + l.TxBytes));
        Assert.Equal(rxTotal, lines.Aggregate(0UL, (sum, l) => sum + l.RxBytes));
        Assert.All(AllFiles(flowLog), f => Assert.Equal(0, TailState(f)));
        // Every exporter held its memory budget, the killed ones until their kill.
        Assert.True(peakRss <= Faults.FaultPipeline.ExporterBudgetBytes, $"an exporter's peak RSS was {peakRss >> 20} MiB, over its {Faults.FaultPipeline.ExporterBudgetBytes >> 20} MiB budget");
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>A replay of <see cref="Flows"/> distinct flows with known byte totals.</summary>
    private static (string Path, ulong Tx, ulong Rx) WriteReplay(string directory)
    {
        var path = Path.Combine(directory, "replay.jsonl");
        var text = new StringBuilder();
        ulong tx = 0, rx = 0;
        for (var i = 0; i < Flows; i++)
        {
            var (t, r) = ((ulong)(1000 + i), (ulong)(50_000 + (i * 7)));
            (tx, rx) = (tx + t, rx + r);
            text.Append(CultureInfo.InvariantCulture,
                $"{{\"proto\":6,\"src\":\"10.1.{i / 250}.{(i % 250) + 1}\",\"dst\":\"10.2.{i / 250}.{(i % 250) + 1}\",\"tx_bytes\":{t},\"rx_bytes\":{r},\"tx_packets\":3,\"rx_packets\":4}}\n");
        }

        File.WriteAllText(path, text.ToString());
        return (path, tx, rx);
    }

    /// <summary>
    /// Polls the file's size without pause until it exceeds the smallest size seen since the
    /// exporter started (a cut of a torn tail, or a rotation, makes it smaller first).
    /// </summary>
    private static bool WaitForGrowth(string path, ServiceProcess exporter, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var seen = Size(path);
        while (DateTime.UtcNow < deadline && !exporter.HasExited)
        {
            var now = Size(path);
            if (now > seen)
            {
                return true;
            }

            seen = Math.Min(seen, now);
            Thread.Yield();
        }

        return false;
    }

    private static long Size(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Bytes after the file's last whole batch: what a restart cuts.</summary>
    private static long TailState(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return FlowLogScan.Read(handle).TornBytes;
    }

    private static int Lines(string path, string node) => AllFiles(path).Sum(f => FlowLogFile.Read(f, node).Count);

    private static List<string> AllFiles(string path) =>
        [.. Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + "*")];

    private static ServiceProcess StartExporter(Dictionary<string, string?> settings) =>
        ServiceProcess.Start("exporter", Repo.ServiceDll("exporter", "Egressd.Exporter"), settings);

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
