using System.Buffers;
using System.Diagnostics;
using Egressd.Contracts;
using Egressd.Exporter.Sinks.FlowLog;
using Egressd.Shared.Wire;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Egressd.Benchmarks;

/// <summary>
/// The flow-log sink on one thread: building a batch's lines alone, then whole writes of batches
/// to a file (lines, one positional write, a flush to disk), as the sink does for every batch.
/// </summary>
internal static class FlowLogBenchmark
{
    private const int FlowsPerBatch = 5000;

    public static int Run(string[] args)
    {
        var seconds = Option(args, "--seconds", 5);
        var directory = args.SkipWhile(a => a != "--dir").Skip(1).FirstOrDefault() ?? Path.GetTempPath();
        // As the sink gets them: decoded from the bus, every endpoint and name one shared object.
        var sample = FlowWire.DecodeEnriched(FlowWire.Encode(WireBenchmark.Sample(FlowsPerBatch)));
        var batches = Enumerable.Range(0, 8).Select(i => Batch(i, sample)).ToArray();
        var buffer = new ArrayBufferWriter<byte>(4 << 20);

        var built = Rounds(seconds, i =>
        {
            buffer.ResetWrittenCount();
            FlowLogLines.Write(buffer, batches[i % batches.Length]);
        });
        var bytesPerLine = buffer.WrittenCount / (double)FlowsPerBatch;

        var path = Path.Combine(directory, $"egressd-flow-log-bench-{Environment.ProcessId}.jsonl");
        try
        {
            using var sink = new FlowLogSink(
                Options.Create(new FlowLogOptions { Path = path, MaxFileBytes = 256L << 20, RotatedFiles = 1 }),
                Options.Create(new Egressd.Exporter.ExporterOptions()),
                NullLogger<FlowLogSink>.Instance,
                new FlowLogMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())));
            sink.Open();
            var window = 0L;
            var writes = Rounds(seconds, _ => sink.WriteAsync(Batch(window++, sample), CancellationToken.None).GetAwaiter().GetResult());

            Console.WriteLine($"Flow log: batches of {FlowsPerBatch:N0} flows (one node's part of a busy window), one thread, {seconds} s each; {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}.");
            Console.WriteLine();
            Console.WriteLine("| | lines/s | CPU µs per line |");
            Console.WriteLine("|---|---|---|");
            Console.WriteLine($"| building lines ({bytesPerLine:F0} bytes a line) | {built.Lines:N0} | {built.CpuMicros:F2} |");
            Console.WriteLine($"| writing batches to {directory} (lines, write, flush to disk) | {writes.Lines:N0} | {writes.CpuMicros:F2} |");
        }
        finally
        {
            File.Delete(path);
            File.Delete(FlowLogSink.RotatedPath(path, 1));
        }

        return 0;
    }

    private static (double Lines, double CpuMicros) Rounds(int seconds, Action<int> batch)
    {
        for (var i = 0; i < 20; i++)
        {
            batch(i);
        }

        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var n = 0;
        while (watch.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            batch(n++);
        }

        var lines = (double)n * FlowsPerBatch;
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        return (lines / watch.Elapsed.TotalSeconds, used.TotalMicroseconds / lines);
    }

    private static FlowBatchEnriched Batch(long window, FlowBatchEnriched sample) => sample with
    {
        Header = new BatchHeader
        {
            Id = new BatchId { Node = "node-a", BootId = "bench", Window = window, Part = 0, PartCount = 1 },
            Node = "node-a",
            WindowStart = DateTimeOffset.UnixEpoch.AddSeconds(window * 5),
            WindowEnd = DateTimeOffset.UnixEpoch.AddSeconds((window * 5) + 5),
            Source = FlowSource.Netfilter,
        },
    };

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    }
}
