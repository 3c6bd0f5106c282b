using System.Buffers;
using System.Text;
using System.Text.Json;
using Egressd.Contracts;
using Egressd.Exporter;
using Egressd.Exporter.Sinks.FlowLog;
using Egressd.Tests.Infrastructure;
using Egressd.Tests.Samples;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Egressd.Tests.Exporter;

/// <summary>The flow-log sink on real files: torn writes, restarts, rotation, permissions, the line shape.</summary>
public sealed class FlowLogSinkTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("egressd-flowlog-").FullName;

    private string LogPath => Path.Combine(directory, "flows.jsonl");

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Line_is_flat_with_every_field_in_snake_case_and_unknown_values_left_out()
    {
        var header = new BatchHeader
        {
            Id = new BatchId { Node = "node-a", BootId = "boot", Window = 7, Part = 0, PartCount = 1 },
            Node = "node-a",
            WindowStart = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero),
            WindowEnd = new DateTimeOffset(2025, 1, 2, 3, 4, 10, TimeSpan.Zero),
            Source = FlowSource.Netfilter,
        };
        var batch = EnrichedRows.Batch(
            [
                new FlowRow
                {
                    Flow = new FlowRecord { SourceIp = IpAddr.Parse("10.0.0.1"), DestinationIp = IpAddr.Parse("10.0.1.2"), OriginalDestinationIp = IpAddr.Parse("10.96.0.10"), Protocol = 6, TxBytes = 100, RxBytes = 200, TxPackets = 3, RxPackets = 4 },
                    Source = new FlowEndpoint { Pod = "web-1", Namespace = "shop", Node = "node-a", Zone = "z1", Region = "r1", WorkloadKind = "Deployment", WorkloadName = "web" },
                    Destination = new FlowEndpoint { Pod = "db-0", Namespace = "shop", Node = "node-b", Zone = "z2", Region = "r1", WorkloadKind = "StatefulSet", WorkloadName = "db" },
                    DestinationService = "shop/db",
                    DestinationDnsName = "db.shop.svc",
                    TrafficClass = TrafficClass.CrossZone,
                },
                new FlowRow
                {
                    Flow = new FlowRecord { SourceIp = IpAddr.Parse("fd00::1"), DestinationIp = IpAddr.Parse("198.18.0.9"), Protocol = 17, TxBytes = 1, RxBytes = 0, TxPackets = 1, RxPackets = 0 },
                    Source = new FlowEndpoint { Pod = "web-1", Namespace = "shop" },
                    Destination = new FlowEndpoint(),
                    TrafficClass = TrafficClass.Internet,
                },
            ],
            header);
        using (var sink = Sink())
        {
            await sink.WriteAsync(batch, CancellationToken.None);
        }

        var text = File.ReadAllText(LogPath);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.DoesNotContain("\\u", text, StringComparison.Ordinal);

        using var full = JsonDocument.Parse(lines[0]);
        string[] keys =
        [
            "batch_id", "batch_line", "batch_lines", "node", "window_start", "window_end", "source_kind",
            "src_ip", "dst_ip", "original_dst_ip", "protocol", "tx_bytes", "rx_bytes", "tx_packets", "rx_packets", "traffic_class",
            "src_pod", "src_namespace", "src_node", "src_zone", "src_region", "src_workload_kind", "src_workload_name",
            "dst_pod", "dst_namespace", "dst_node", "dst_zone", "dst_region", "dst_workload_kind", "dst_workload_name",
            "dst_service", "dst_dns_name",
        ];
        Assert.Equal(keys, full.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.All(full.RootElement.EnumerateObject(), p => Assert.NotEqual(JsonValueKind.Object, p.Value.ValueKind));
        Assert.Equal("2025-01-02T03:04:05+00:00", full.RootElement.GetProperty("window_start").GetString());

        var first = FlowLogFile.Parse(Encoding.UTF8.GetBytes(lines[0]));
        Assert.Equal("node-a/boot/7/1-of-1", first.BatchId);
        Assert.Equal((1, 2), (first.BatchLine, first.BatchLines));
        Assert.Equal(FlowSource.Netfilter, first.SourceKind);
        Assert.Equal(batch.Flows[0].Flow, first.Flow);
        Assert.Equal(TrafficClass.CrossZone, first.TrafficClass);
        Assert.Equal(("web-1", "shop", "node-a", "z1", "r1", "Deployment", "web"),
            (first.SrcPod, first.SrcNamespace, first.SrcNode, first.SrcZone, first.SrcRegion, first.SrcWorkloadKind, first.SrcWorkloadName));
        Assert.Equal(("db-0", "shop", "node-b", "z2", "r1", "StatefulSet", "db"),
            (first.DstPod, first.DstNamespace, first.DstNode, first.DstZone, first.DstRegion, first.DstWorkloadKind, first.DstWorkloadName));
        Assert.Equal(("shop/db", "db.shop.svc"), (first.DstService, first.DstDnsName));
        Assert.Contains("\"traffic_class\":\"cross-zone\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"source_kind\":\"netfilter\"", lines[0], StringComparison.Ordinal);

        using var sparse = JsonDocument.Parse(lines[1]);
        Assert.Equal(
            ["batch_id", "batch_line", "batch_lines", "node", "window_start", "window_end", "source_kind", "src_ip", "dst_ip", "protocol",
             "tx_bytes", "rx_bytes", "tx_packets", "rx_packets", "traffic_class", "src_pod", "src_namespace"],
            sparse.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(2, FlowLogFile.Parse(Encoding.UTF8.GetBytes(lines[1])).BatchLine);
    }

    [Theory]
    [InlineData(0.5)] // in the middle of the batch's first line
    [InlineData(1.5)] // after one whole line, in the middle of the second
    [InlineData(2.0)] // two whole lines of three: torn exactly at a line boundary
    public async Task Torn_last_batch_is_cut_at_start_and_written_whole_by_the_redelivery(double linesWritten)
    {
        using (var sink = Sink())
        {
            await sink.WriteAsync(Batch(1, 3), CancellationToken.None);
            await sink.WriteAsync(Batch(2, 3), CancellationToken.None);
        }

        var whole = new FileInfo(LogPath).Length;
        var torn = Encoded(Batch(3, 3));
        var lineLength = Array.IndexOf(torn, (byte)'\n') + 1;
        var cut = (int)(lineLength * linesWritten);
        if (linesWritten == 2.0)
        {
            cut = IndexOfNth(torn, (byte)'\n', 2) + 1;
        }

        AppendRaw(torn.AsSpan(0, cut));
        var metrics = TestMetrics.FlowLog();

        using (var restarted = Sink(metrics: metrics))
        {
            restarted.Open();
            Assert.Equal(whole, new FileInfo(LogPath).Length);
            Assert.Equal(cut, metrics.TornBytesCut.Value);
            await restarted.WriteAsync(Batch(3, 3), CancellationToken.None);
        }

        var lines = FlowLogFile.ReadAll(LogPath);
        Assert.Equal(9, lines.Count);
        Assert.Equal(3, lines.Select(l => l.BatchId).Distinct().Count());
        Assert.All(lines.GroupBy(l => l.BatchId), g => Assert.Equal([1, 2, 3], g.Select(l => l.BatchLine)));
        Assert.True(File.ReadAllBytes(LogPath)[^1] == (byte)'\n');
    }

    [Fact]
    public async Task Batches_in_the_file_are_known_after_a_restart_and_a_redelivery_is_skipped()
    {
        using (var sink = Sink())
        {
            await sink.WriteAsync(Batch(1, 4), CancellationToken.None);
            await sink.WriteAsync(Batch(2, 4), CancellationToken.None);
        }

        var before = File.ReadAllBytes(LogPath);
        var metrics = TestMetrics.FlowLog();
        using (var restarted = Sink(metrics: metrics))
        {
            await restarted.WriteAsync(Batch(2, 4), CancellationToken.None);
            await restarted.WriteAsync(Batch(1, 4), CancellationToken.None);
            Assert.Equal(before, File.ReadAllBytes(LogPath));
            Assert.Equal(2, metrics.BatchesSkipped.Value);

            // A new batch still goes in, once.
            await restarted.WriteAsync(Batch(3, 4), CancellationToken.None);
            await restarted.WriteAsync(Batch(3, 4), CancellationToken.None);
        }

        var lines = FlowLogFile.ReadAll(LogPath);
        Assert.Equal(12, lines.Count);
        Assert.Equal(3, lines.Select(l => l.BatchId).Distinct().Count());
    }

    [Fact]
    public async Task Rotation_by_size_keeps_the_rotated_batches_known_after_a_restart()
    {
        var options = new FlowLogOptions { Path = LogPath, MaxFileBytes = 4096, RotatedFiles = 3 };
        // About 2.9 KB a batch: each file holds one batch, so five batches make four files and drop one.
        using (var sink = Sink(options))
        {
            for (var window = 1; window <= 5; window++)
            {
                await sink.WriteAsync(Batch(window, 10), CancellationToken.None);
            }
        }

        string[] files = [LogPath, .. Enumerable.Range(1, 3).Select(n => FlowLogSink.RotatedPath(LogPath, n))];
        Assert.All(files, f => Assert.True(File.Exists(f), f));
        Assert.False(File.Exists(FlowLogSink.RotatedPath(LogPath, 4)));
        Assert.All(files, f => Assert.True(new FileInfo(f).Length <= 4096, f));
        Assert.All(files, f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
        var before = files.Select(File.ReadAllBytes).ToList();

        using (var restarted = Sink(options))
        {
            for (var window = 2; window <= 5; window++)
            {
                await restarted.WriteAsync(Batch(window, 10), CancellationToken.None);
            }
        }

        Assert.Equal(before, files.Select(File.ReadAllBytes).ToList());
        var ids = files.SelectMany(FlowLogFile.ReadAll).GroupBy(l => l.BatchId).ToList();
        Assert.Equal(4, ids.Count);
        Assert.All(ids, g => Assert.Equal(10, g.Count()));
    }

    [Fact]
    public void Symlink_at_the_path_is_refused_at_start_with_one_line_naming_the_setting()
    {
        var target = Path.Combine(directory, "elsewhere");
        File.WriteAllText(target, "keep\n");
        File.CreateSymbolicLink(LogPath, target);
        var options = new FlowLogOptions { Path = LogPath };

        var result = new FlowLogOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith("Egressd:Exporter:FlowLog:Path", failure, StringComparison.Ordinal);
        Assert.Contains("symbolic link", failure, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure);

        // The sink refuses too, should a link appear after the check.
        using var sink = Sink(options);
        var error = Assert.Throws<IOException>(sink.Open);
        Assert.Contains("Egressd:Exporter:FlowLog:Path", error.Message, StringComparison.Ordinal);
        Assert.Equal("keep\n", File.ReadAllText(target));
    }

    [Fact]
    public void File_is_created_at_start_with_mode_0600_or_the_configured_mode()
    {
        using (var sink = Sink())
        {
            sink.Open();
        }

        Assert.Equal(0, new FileInfo(LogPath).Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(LogPath));

        var group = Path.Combine(directory, "group.jsonl");
        using (var sink = Sink(new FlowLogOptions { Path = group, FileMode = "0640" }))
        {
            sink.Open();
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(group));
    }

    [Theory]
    [InlineData("FileMode", "rw-------", "Egressd:Exporter:FlowLog:FileMode")]
    [InlineData("FileMode", "0400", "Egressd:Exporter:FlowLog:FileMode")]
    [InlineData("FileMode", "4600", "Egressd:Exporter:FlowLog:FileMode")]
    [InlineData("MaxFileBytes", "100", "Egressd:Exporter:FlowLog:MaxFileBytes")]
    [InlineData("RotatedFiles", "0", "Egressd:Exporter:FlowLog:RotatedFiles")]
    public void Bad_setting_is_one_line_naming_it(string setting, string value, string named)
    {
        var options = new FlowLogOptions { Path = LogPath };
        switch (setting)
        {
            case "FileMode": options.FileMode = value; break;
            case "MaxFileBytes": options.MaxFileBytes = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            default: options.RotatedFiles = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
        }

        var result = new FlowLogOptionsValidator().Validate(null, options);
        Assert.StartsWith(named, Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    private FlowLogSink Sink(FlowLogOptions? options = null, FlowLogMetrics? metrics = null) =>
        new(Options.Create(options ?? new FlowLogOptions { Path = LogPath }), Options.Create(new ExporterOptions()), NullLogger<FlowLogSink>.Instance, metrics ?? TestMetrics.FlowLog());

    private void AppendRaw(ReadOnlySpan<byte> bytes)
    {
        using var stream = new FileStream(LogPath, FileMode.Append, FileAccess.Write);
        stream.Write(bytes);
    }

    private static byte[] Encoded(FlowBatchEnriched batch)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FlowLogLines.Write(buffer, batch);
        return buffer.WrittenSpan.ToArray();
    }

    private static int IndexOfNth(byte[] bytes, byte value, int n)
    {
        var at = -1;
        for (var i = 0; i < n; i++)
        {
            at = Array.IndexOf(bytes, value, at + 1);
        }

        return at;
    }

    internal static FlowBatchEnriched Batch(long window, int flows) => EnrichedRows.Batch(
        Enumerable.Range(0, flows).Select(i => new FlowRow
        {
            Flow = new FlowRecord { SourceIp = IpAddr.Parse($"10.1.0.{i}"), DestinationIp = IpAddr.Parse($"10.2.{window % 250}.{i}"), Protocol = 6, TxBytes = (ulong)(window * 1000) + (ulong)i, RxBytes = 7, TxPackets = 1, RxPackets = 1 },
            Source = new FlowEndpoint { Pod = $"pod-{i}", Namespace = "ns" },
            Destination = new FlowEndpoint(),
            TrafficClass = TrafficClass.SameNode,
        }),
        new BatchHeader
        {
            Id = new BatchId { Node = "unit", BootId = "boot", Window = window, Part = 0, PartCount = 1 },
            Node = "unit",
            WindowStart = DateTimeOffset.UnixEpoch.AddSeconds(window * 5),
            WindowEnd = DateTimeOffset.UnixEpoch.AddSeconds((window * 5) + 5),
            Source = FlowSource.Replay,
        });
}
