using System.Buffers;
using Egressd.Contracts;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.FlowLog;

/// <summary>
/// One flat JSON line per flow, to a file or standard output: the simplest way to see what egressd
/// sees, and what the local runner shows. To a file, each batch is written exactly once, also
/// across a crash of the exporter: see <see cref="Open"/> and <see cref="WriteAsync"/>.
/// </summary>
/// <remarks>
/// The batch ids already written (<see cref="Applied"/>, the one set the flow log's consumer drops
/// redeliveries by) are rebuilt at start by reading the files themselves (the
/// current one and the rotated ones kept), not from an index beside them: the file is the only
/// truth a crash cannot make disagree with itself, whereas an index written after the data lags
/// it by a crash, needs its own torn-line repair and must rotate in step. The price is one
/// sequential read of the kept files at start (at most <c>MaxFileBytes × (RotatedFiles + 1)</c>),
/// parsing only the first three keys of each line.
/// </remarks>
public sealed partial class FlowLogSink : IFlowSink, IDisposable
{
    // A rare huge batch should not pin its buffer for the life of the process.
    private const int KeptBufferBytes = 16 << 20;

    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly FlowLogOptions options;
    private readonly UnixFileMode mode;
    private readonly ILogger<FlowLogSink> logger;
    private readonly string? path;
    private ArrayBufferWriter<byte> buffer = new(64 * 1024);
    private FileStream? file;
    private Stream? stdout;
    private long end;
    private bool dirty;
    private bool opened;

    private readonly FlowLogMetrics metrics;

    public FlowLogSink(IOptions<FlowLogOptions> options, IOptions<ExporterOptions> exporter, ILogger<FlowLogSink> logger, FlowLogMetrics metrics)
    {
        this.options = options.Value;
        this.logger = logger;
        this.metrics = metrics;
        Applied = new AppliedBatches(exporter.Value.DedupWindow);
        mode = this.options.ParseFileMode() ?? (UnixFileMode.UserRead | UnixFileMode.UserWrite);
        path = this.options.IsStandardOutput ? null : Path.GetFullPath(this.options.Path);
    }

    public const string Name = "flow-log";

    /// <summary>The batches the file holds: rebuilt from the files at start, and what the consumer drops redeliveries by.</summary>
    public AppliedBatches Applied { get; }

    /// <summary>
    /// Opens (or creates) the file, cuts a torn last batch left by a crash, and learns which
    /// batches the file and its rotated copies already hold. Runs once, at start; a write before
    /// that runs it first.
    /// </summary>
    public void Open()
    {
        gate.Wait();
        try
        {
            EnsureOpen();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Writes the batch as one append of its fully built lines, then flushes it to disk. Only the
    /// wait for the previous write can be cancelled: once the append starts it runs to the end,
    /// since a cancelled half-write would be written again in full by the redelivery.
    /// </summary>
    public async Task WriteAsync(FlowBatchEnriched batch, CancellationToken cancellationToken)
    {
        var id = batch.Header.Id.ToString();
        await gate.WaitAsync(cancellationToken);
        try
        {
            EnsureOpen();
            // Already in the files: read from them after the consumer let this copy in, or written before.
            if (Applied.Contains(id))
            {
                metrics.BatchesSkipped.Inc();
                LogSkipped(logger, id);
                return;
            }

            if (batch.Flows.Count > 0)
            {
                buffer.ResetWrittenCount();
                FlowLogLines.Write(buffer, batch);
                Append(buffer.WrittenSpan);
                metrics.LinesWritten.Inc(batch.Flows.Count);
                metrics.BytesWritten.Inc(buffer.WrittenCount);
                if (buffer.Capacity > KeptBufferBytes)
                {
                    buffer = new ArrayBufferWriter<byte>(64 * 1024);
                }
            }

            Applied.Add(id);
        }
        finally
        {
            gate.Release();
        }
    }

    public void Dispose()
    {
        file?.Dispose();
        gate.Dispose();
    }

    /// <summary>Rotated file <paramref name="n"/>: <c>Path.1</c> is the newest.</summary>
    internal static string RotatedPath(string path, int n) => $"{path}.{n}";

    private void EnsureOpen()
    {
        if (opened)
        {
            return;
        }

        if (path is null)
        {
            stdout = Console.OpenStandardOutput();
            opened = true;
            return;
        }

        // Oldest first, so the newest ids are the ones kept if there are more than remembered.
        for (var n = options.RotatedFiles; n >= 1; n--)
        {
            var rotated = RotatedPath(path, n);
            if (!File.Exists(rotated) || new FileInfo(rotated).LinkTarget is not null)
            {
                continue;
            }

            using var old = File.OpenHandle(rotated, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            Remember(FlowLogScan.Read(old));
        }

        file = OpenFile(path);
        var scan = FlowLogScan.Read(file.SafeFileHandle);
        Remember(scan);
        if (scan.TornBytes > 0)
        {
            RandomAccess.SetLength(file.SafeFileHandle, scan.KeepLength);
            RandomAccess.FlushToDisk(file.SafeFileHandle);
            metrics.TornBytesCut.Inc(scan.TornBytes);
            LogTornCut(logger, scan.TornBytes, path);
        }

        end = scan.KeepLength;
        opened = true;
        LogOpened(logger, path, Applied.Count, end);
    }

    private void Remember(FlowLogScan scan)
    {
        foreach (var id in scan.CompleteBatches)
        {
            Applied.Add(id);
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (stdout is not null)
        {
            stdout.Write(bytes);
            stdout.Flush();
            return;
        }

        var handle = file!.SafeFileHandle;
        if (dirty)
        {
            // A write that failed (disk full) may have left part of a batch past the end.
            RandomAccess.SetLength(handle, end);
            dirty = false;
        }

        if (options.MaxFileBytes > 0 && end > 0 && end + bytes.Length > options.MaxFileBytes)
        {
            Rotate();
            handle = file!.SafeFileHandle;
        }

        try
        {
            // One positional write of the whole batch (RandomAccess loops over short writes).
            RandomAccess.Write(handle, bytes, end);
            RandomAccess.FlushToDisk(handle);
        }
        catch
        {
            dirty = true;
            throw;
        }

        end += bytes.Length;
    }

    /// <summary>
    /// Renames the full file to <c>Path.1</c> (shifting the older ones up, dropping the oldest) and
    /// starts a new one. Rotation happens only between whole batches, so a rotated file never ends
    /// torn, and its ids are read back at the next start like the current file's.
    /// </summary>
    private void Rotate()
    {
        var current = path!;
        file!.Dispose();
        file = null;
        File.Delete(RotatedPath(current, options.RotatedFiles));
        for (var n = options.RotatedFiles - 1; n >= 1; n--)
        {
            if (File.Exists(RotatedPath(current, n)))
            {
                File.Move(RotatedPath(current, n), RotatedPath(current, n + 1), overwrite: true);
            }
        }

        var newest = RotatedPath(current, 1);
        File.Move(current, newest, overwrite: true);
        file = OpenFile(current);
        end = 0;
        metrics.Rotations.Inc();
        LogRotated(logger, current, newest);
    }

    /// <summary>
    /// Opens the file for appending without following a symbolic link at its path (checked before
    /// and after the open), creating it with <see cref="FlowLogOptions.FileMode"/>.
    /// </summary>
    private FileStream OpenFile(string full)
    {
        RefuseLink(full);
        var created = !File.Exists(full);
        var open = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            open.UnixCreateMode = mode;
        }

        var stream = new FileStream(full, open);
        try
        {
            // A link swapped in between the check and the open: the open may have followed it.
            RefuseLink(full);
            if (created && !OperatingSystem.IsWindows())
            {
                // The create mode is masked by the umask; set exactly what was asked for.
                File.SetUnixFileMode(stream.SafeFileHandle, mode);
            }

            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static void RefuseLink(string full)
    {
        if (new FileInfo(full).LinkTarget is { } target)
        {
            throw new IOException($"{FlowLogOptions.Section}:Path '{full}' is a symbolic link (to '{target}'); the flow log refuses to follow links");
        }
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Flow log {Path}: {Batches} whole batches already written, appending at byte {End}")]
    private static partial void LogOpened(ILogger logger, string path, int batches, long end);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning, Message = "Cut {Bytes} bytes of a torn last batch from {Path}; it is written again when redelivered")]
    private static partial void LogTornCut(ILogger logger, long bytes, string path);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Debug, Message = "Flow log skipped batch {BatchId}: the file already holds it")]
    private static partial void LogSkipped(ILogger logger, string batchId);

    [LoggerMessage(EventId = 3304, Level = LogLevel.Information, Message = "Flow log {Path} reached its size limit; rotated to {Rotated}")]
    private static partial void LogRotated(ILogger logger, string path, string rotated);
}
