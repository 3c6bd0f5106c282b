using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Egressd.Collector.Native;
using Egressd.Shared.Wire;

namespace Egressd.Collector.Flows;

/// <summary>
/// A conntrack reader's restart checkpoint, one file on the node: the per-entry counters of the
/// reducer as of a read after which no delta was pending, with the window parts not yet confirmed
/// that carry the deltas up to that read. A restart in the same kernel boot and scope (the network
/// namespace for netfilter; the bpf filesystem root for Cilium, whose maps are the node's) continues every entry from these counters and re-sends the parts with their own ids (sinks drop
/// a copy they already applied), so a crash anywhere between read and confirm neither loses what
/// live entries carried nor counts it twice. A small marker file records that every part of the
/// last checkpoint was confirmed, so a restart does not send them again.
/// <para>
/// Format: "EGDCKPT2", boot id, network namespace, the read's wall-clock time (ns), checkpoint id,
/// the parts as length-prefixed bodies in the bus's wire (<see cref="EncodedFlowBatch"/>, what is
/// sent), the entries (fingerprint and four counters, 40 bytes each),
/// then the SHA-256 of all that. Written to a temporary file, fsynced, renamed over the old one and
/// the directory fsynced: a reader sees the old checkpoint or the new one, never a mix.
/// </para>
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class ConntrackCheckpoint : IWindowCheckpoint
{
    public const string FileName = "conntrack.checkpoint";
    public const string ConfirmedFileName = "conntrack.confirmed";

    /// <summary>Cilium's own files: a node switched between sources never reads the other's counters.</summary>
    public const string CiliumFileName = "cilium.checkpoint";
    public const string CiliumConfirmedFileName = "cilium.confirmed";
    private const string Magic = "EGDCKPT2";

    private readonly string directory;
    private readonly string path;
    private readonly string confirmedPath;
    private readonly string bootId;
    private readonly string netnsId;
    private readonly ConntrackReducer reducer;
    private readonly ILogger logger;
    private readonly CollectorMetrics metrics;
    private readonly Func<string>? note;
    private readonly Action<string>? onNote;
    private string lastId = "";

    private ConntrackCheckpoint(string directory, string fileName, string confirmedFileName, string bootId, string netnsId, ConntrackReducer reducer, ILogger logger, CollectorMetrics metrics,
        Func<string>? note = null, Action<string>? onNote = null)
    {
        this.metrics = metrics;
        this.directory = directory;
        path = Path.Combine(directory, fileName);
        confirmedPath = Path.Combine(directory, confirmedFileName);
        this.bootId = bootId;
        this.netnsId = netnsId;
        this.reducer = reducer;
        this.logger = logger;
        this.note = note;
        this.onNote = onNote;
    }

    public IReadOnlyList<EncodedFlowBatch> Unconfirmed { get; private set; } = [];

    /// <summary>
    /// Opens the state directory (created 0700), reads the checkpoint left there and hands the
    /// reducer its restart rule. Without a usable directory the rule still applies (no checkpoint:
    /// every live entry starts from a baseline) and null is returned.
    /// </summary>
    public static ConntrackCheckpoint? Open(string directory, string? netns, ConntrackReducer reducer, DateTimeOffset processStart, ILogger logger, CollectorMetrics metrics)
    {
        string bootId, netnsId;
        try
        {
            bootId = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
            netnsId = NetworkNamespace.Run(netns, () => new FileInfo("/proc/thread-self/ns/net").LinkTarget) ?? "unknown";
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NetworkNamespaceException)
        {
            LogNoDirectory(logger, directory, ex.Message);
            reducer.Restore(null, processStart);
            return null;
        }

        var checkpoint = new ConntrackCheckpoint(directory, FileName, ConfirmedFileName, bootId, netnsId, reducer, logger, metrics);
        checkpoint.Load(processStart);
        return checkpoint;
    }

    /// <summary>
    /// The same for Cilium's maps, which belong to the node, not to a network namespace: the scope is
    /// the kernel boot and the bpf filesystem root (pinned maps last until deleted or reboot).
    /// Entries are known by tuple and flags (Cilium keeps no id and no start time), so an entry
    /// seen for the first time at the first read after a restart and missing from the checkpoint
    /// is taken as a baseline, even when it opened during the restart: its bytes until then are
    /// not counted (and are added to the uncounted total). <paramref name="note"/> is saved with
    /// the counters and handed back to <paramref name="onNote"/> at load (the counter layout the
    /// counters were read with).
    /// </summary>
    public static ConntrackCheckpoint? OpenForCilium(string directory, string bpfRoot, ConntrackReducer reducer, DateTimeOffset processStart, ILogger logger, CollectorMetrics metrics,
        Func<string> note, Action<string> onNote)
    {
        string bootId;
        try
        {
            bootId = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogNoDirectory(logger, directory, ex.Message);
            reducer.Restore(null, processStart);
            return null;
        }

        var scope = "cilium " + Path.GetFullPath(bpfRoot);
        var checkpoint = new ConntrackCheckpoint(directory, CiliumFileName, CiliumConfirmedFileName, bootId, scope, reducer, logger, metrics, note, onNote);
        checkpoint.Load(processStart);
        return checkpoint;
    }

    // The note rides in the scope's string after a newline, so netfilter's files keep their format.
    private string Scope => note is null ? netnsId : netnsId + "\n" + note();

    public void Save(IReadOnlyList<EncodedFlowBatch> unconfirmed)
    {
        var started = Environment.TickCount64;
        var id = Guid.NewGuid().ToString("N");
        var temp = path + ".tmp";
        var entries = 0;
        try
        {
            using (var file = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                BufferSize = 1 << 16,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                using var sha = SHA256.Create();
                using (var hashed = new CryptoStream(file, sha, CryptoStreamMode.Write, leaveOpen: true))
                using (var writer = new BinaryWriter(hashed, System.Text.Encoding.UTF8, leaveOpen: true))
                {
                    writer.Write(Magic);
                    writer.Write(bootId);
                    writer.Write(Scope);
                    writer.Write(reducer.LastDumpStartNanos);
                    writer.Write(id);
                    writer.Write(unconfirmed.Count);
                    foreach (var part in unconfirmed)
                    {
                        // A frozen part's own body: nothing is encoded again.
                        writer.Write(part.Body.Length);
                        writer.Write(part.Body);
                    }

                    foreach (var e in reducer.CheckpointEntries())
                    {
                        writer.Write(e.Key);
                        writer.Write(e.Original.Packets);
                        writer.Write(e.Original.Bytes);
                        writer.Write(e.Reply.Packets);
                        writer.Write(e.Reply.Bytes);
                        entries++;
                    }

                    // The entry count ends the entries, so a reader needs no count up front.
                    writer.Write(ulong.MaxValue);
                    writer.Write(entries);
                }

                file.Write(sha.Hash);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            SyncDirectory();
            lastId = id;
            metrics.CheckpointEntries.Set(entries);
            metrics.CheckpointSaveSeconds.Observe((Environment.TickCount64 - started) / 1000.0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            metrics.CheckpointFailures.Inc();
            LogSaveFailed(logger, path, ex.Message);
        }
    }

    public void Confirmed()
    {
        if (lastId.Length == 0)
        {
            return;
        }

        try
        {
            var temp = confirmedPath + ".tmp";
            using (var file = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                file.Write(System.Text.Encoding.ASCII.GetBytes(lastId));
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, confirmedPath, overwrite: true);
            SyncDirectory();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            metrics.CheckpointFailures.Inc();
            LogSaveFailed(logger, confirmedPath, ex.Message);
        }
    }

    private void Load(DateTimeOffset processStart)
    {
        if (!File.Exists(path))
        {
            LogNoCheckpoint(logger, path);
            reducer.Restore(null, processStart);
            return;
        }

        try
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length < 32 || !SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
            {
                throw new InvalidDataException("its checksum does not match");
            }

            using var reader = new BinaryReader(new MemoryStream(bytes, 0, bytes.Length - 32, writable: false));
            var magic = reader.ReadString();
            if (magic != Magic)
            {
                throw new InvalidDataException("not an egressd checkpoint");
            }

            var savedBoot = reader.ReadString();
            var savedScope = reader.ReadString();
            var savedNetns = note is null ? savedScope : savedScope.Split('\n')[0];
            var readAt = reader.ReadUInt64();
            var savedId = reader.ReadString();
            if (savedBoot != bootId || savedNetns != netnsId)
            {
                LogOtherBoot(logger, path, savedBoot != bootId ? "kernel boot" : note is null ? "network namespace" : "bpf filesystem root");
                reducer.Restore(null, processStart);
                return;
            }

            var parts = new List<EncodedFlowBatch>(reader.ReadInt32());
            for (var i = parts.Capacity; i > 0; i--)
            {
                parts.Add(EncodedFlowBatch.Read(reader.ReadBytes(reader.ReadInt32())));
            }

            var entries = new List<CheckpointEntry>();
            while (true)
            {
                var key = reader.ReadUInt64();
                if (key == ulong.MaxValue && reader.BaseStream.Length - reader.BaseStream.Position == 4)
                {
                    break;
                }

                entries.Add(new CheckpointEntry(key,
                    new ConntrackCounters(reader.ReadUInt64(), reader.ReadUInt64()),
                    new ConntrackCounters(reader.ReadUInt64(), reader.ReadUInt64())));
            }

            if (reader.ReadInt32() != entries.Count)
            {
                throw new InvalidDataException("its entry count does not match");
            }

            var confirmed = File.Exists(confirmedPath) && File.ReadAllText(confirmedPath).Trim() == savedId;
            Unconfirmed = confirmed ? [] : parts;
            lastId = savedId;
            var readAtTime = DateTimeOffset.UnixEpoch.AddTicks((long)(readAt / 100));
            if (onNote is not null && savedScope.IndexOf('\n') is var at and >= 0)
            {
                onNote(savedScope[(at + 1)..]);
            }

            reducer.Restore(entries, readAtTime);
            LogLoaded(logger, path, entries.Count, readAtTime, Unconfirmed.Count);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or SerializationException or EndOfStreamException or ArgumentException or FormatException)
        {
            LogUnreadable(logger, path, ex.Message);
            Unconfirmed = [];
            reducer.Restore(null, processStart);
        }
    }

    private void SyncDirectory()
    {
        // The rename lives in the directory: without this a power loss can bring the old file back.
        var fd = Libc.Open(directory, 0);
        if (fd >= 0)
        {
            _ = Libc.Fsync(fd);
            _ = Libc.Close(fd);
        }
        else
        {
            throw new IOException($"open({directory}): errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information,
        Message = "Restart checkpoint {Path}: {Entries} entries continue from the counters read at {ReadAt:o}; {Parts} window parts never confirmed are sent again")]
    private static partial void LogLoaded(ILogger logger, string path, int entries, DateTimeOffset readAt, int parts);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Information,
        Message = "No restart checkpoint at {Path}: connections already open are taken as they are now and only their traffic from here on is counted")]
    private static partial void LogNoCheckpoint(ILogger logger, string path);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Warning,
        Message = "The restart checkpoint {Path} is unreadable ({Reason}); starting as without one")]
    private static partial void LogUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 2404, Level = LogLevel.Information,
        Message = "The restart checkpoint {Path} belongs to another {What}; starting as without one")]
    private static partial void LogOtherBoot(ILogger logger, string path, string what);

    [LoggerMessage(EventId = 2405, Level = LogLevel.Warning,
        Message = "Cannot keep a restart checkpoint in {Directory} ({Reason}): a restart will not count connections already open until then. Set Egressd:Collector:StateDirectory to a writable directory on the node")]
    private static partial void LogNoDirectory(ILogger logger, string directory, string reason);

    [LoggerMessage(EventId = 2406, Level = LogLevel.Warning, Message = "Writing the restart checkpoint {Path} failed: {Reason}")]
    private static partial void LogSaveFailed(ILogger logger, string path, string reason);
}
