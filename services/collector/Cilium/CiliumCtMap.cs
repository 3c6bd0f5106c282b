using System.Runtime.Versioning;
using Egressd.Collector.Flows;
using Egressd.Collector.Native;

namespace Egressd.Collector.Cilium;

/// <summary>
/// One of Cilium's pinned conntrack maps, read whole: BPF_MAP_LOOKUP_BATCH in chunks where the
/// kernel has it (5.6+), else BPF_MAP_GET_NEXT_KEY and a lookup per key. The map is opened anew for
/// each read (Cilium replaces its maps when it resizes them), and its pin is checked again after
/// the read, so a map removed or replaced meanwhile ends the read with an error instead of
/// passing off part of a table as all of it.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed unsafe class CiliumCtMap
{
    /// <summary>
    /// Key sizes: <c>struct ipv4_ct_tuple</c> (14 bytes) and <c>struct ipv6_ct_tuple</c> (38), packed,
    /// unchanged from Cilium 1.14 to the newest release.
    /// </summary>
    public const int KeySizeV4 = 14;

    public const int KeySizeV6 = 38;

    /// <summary><c>struct ct_entry</c>: 56 bytes in every release from 1.14 to the newest.</summary>
    public const int ValueSize = 56;

    public const string SupportedValueSizes = "56";

    /// <summary>
    /// Entries a BPF_MAP_LOOKUP_BATCH call may return: 280 KiB of buffers a map. Larger chunks
    /// save syscalls but not time (docs/BENCHMARKS.md: the kernel's copy of each live entry is the
    /// cost, not the calls), so the buffers stay small.
    /// </summary>
    public const int DefaultChunkEntries = 4096;

    private readonly int keySize;
    private byte[] keys = [];
    private byte[] values = [];
    private readonly byte[] cursor = new byte[64];
    private readonly byte[] current;
    private readonly byte[] next;
    private readonly byte[] value = new byte[ValueSize];

    public CiliumCtMap(string path, bool ipv6)
    {
        Path = path;
        Name = System.IO.Path.GetFileName(path);
        IsIPv6 = ipv6;
        keySize = ipv6 ? KeySizeV6 : KeySizeV4;
        current = new byte[keySize];
        next = new byte[keySize];
    }

    public string Path { get; }

    public string Name { get; }

    public bool IsIPv6 { get; }

    /// <summary>False once the kernel refused batch lookup; every read after that goes key by key.</summary>
    public bool UseBatch { get; set; } = true;

    /// <summary>Entries a batch call may return (the benchmark compares sizes).</summary>
    internal int ChunkEntries { get; set; } = DefaultChunkEntries;

    /// <summary>Called between two chunks of a read (tests remove the map there).</summary>
    internal Action? BetweenChunks { get; set; }

    /// <summary>Entries the last read yielded.</summary>
    public int LastCount { get; private set; }

    /// <summary>Times batch lookup was refused and the read fell back to key by key.</summary>
    public int BatchFallbacks { get; private set; }

    /// <summary>Reads the whole map; false when nothing is pinned at <see cref="Path"/> (a v6 map on a v4-only cluster).</summary>
    public bool Read(ICiliumEntryVisitor visitor)
    {
        int fd;
        try
        {
            fd = BpfSyscall.OpenPinned(Path);
        }
        catch (BpfException ex) when (ex.IsNotFound)
        {
            LastCount = 0;
            return false;
        }
        catch (BpfException ex) when (ex.IsPermissionDenied)
        {
            throw new FlowSourceUnavailableException(
                $"Opening Cilium's map {Path} was refused ({ex.Message}): the collector needs CAP_BPF (or CAP_SYS_ADMIN on kernels before 5.8) and /sys/fs/bpf mounted from the host.", ex);
        }

        try
        {
            var info = BpfSyscall.GetMapInfo(fd);
            if (info.KeySize != keySize || info.ValueSize != ValueSize)
            {
                throw new FlowSourceUnavailableException(
                    $"Cilium's map {Path} has {info.KeySize}-byte keys and {info.ValueSize}-byte values; this collector reads keys of {keySize} bytes and values of {SupportedValueSizes} bytes (struct ct_entry of Cilium 1.14 to the newest release it knows). Is this a Cilium release it does not know?");
            }

            EnsureBuffers((int)info.MaxEntries);
            LastCount = 0;
            if (UseBatch && !ReadBatched(fd, visitor))
            {
                UseBatch = false;
                BatchFallbacks++;
                LastCount = 0;
                ReadKeyByKey(fd, info.MaxEntries, visitor);
            }
            else if (!UseBatch)
            {
                ReadKeyByKey(fd, info.MaxEntries, visitor);
            }

            EnsureStillPinned(info.Id);
            return true;
        }
        finally
        {
            BpfSyscall.Close(fd);
        }
    }

    private void EnsureBuffers(int maxEntries)
    {
        var chunk = Math.Min(ChunkEntries, Math.Max(maxEntries, 1));
        if (keys.Length != chunk * keySize)
        {
            keys = GC.AllocateUninitializedArray<byte>(chunk * keySize, pinned: true);
            values = GC.AllocateUninitializedArray<byte>(chunk * ValueSize, pinned: true);
        }
    }

    /// <summary>False (having yielded nothing) when this kernel has no batch lookup for the map.</summary>
    private bool ReadBatched(int fd, ICiliumEntryVisitor visitor)
    {
        var capacity = (uint)(keys.Length / keySize);
        var first = true;
        fixed (byte* k = keys)
        fixed (byte* v = values)
        fixed (byte* c = cursor)
        {
            while (true)
            {
                var count = capacity;
                if (!BpfSyscall.TryLookupBatch(fd, first ? null : c, c, k, v, ref count, out var done, out var errno))
                {
                    if (first && errno is ErrorCodes.EINVAL or ErrorCodes.EOPNOTSUPP or ErrorCodes.ENOTSUPP)
                    {
                        return false;
                    }

                    if (errno == ErrorCodes.ENOSPC)
                    {
                        // One hash bucket holds more entries than a chunk: rare, but it must not stop the read.
                        throw new CiliumMapException($"Reading Cilium's map {Path}: a hash bucket holds more than {capacity} entries");
                    }

                    throw new CiliumMapException($"Reading Cilium's map {Path}: {new BpfException("BPF_MAP_LOOKUP_BATCH", errno).Message}");
                }

                first = false;
                for (var i = 0; i < count; i++)
                {
                    visitor.OnEntry(new ReadOnlySpan<byte>(k + (i * keySize), keySize), new ReadOnlySpan<byte>(v + (i * ValueSize), ValueSize));
                }

                LastCount += (int)count;
                if (done)
                {
                    return true;
                }

                BetweenChunks?.Invoke();
            }
        }
    }

    private void ReadKeyByKey(int fd, uint maxEntries, ICiliumEntryVisitor visitor)
    {
        // A deleted current key makes GET_NEXT_KEY start over from the first key; a table that
        // keeps churning could loop, so the walk is bounded.
        var limit = ((long)maxEntries * 4) + 1024;
        var steps = 0L;
        fixed (byte* pc = current)
        fixed (byte* pn = next)
        fixed (byte* pv = value)
        {
            var at = (byte*)null;
            var other = pn;
            while (true)
            {
                if (!BpfSyscall.TryGetNextKey(fd, at, other, out var errno))
                {
                    if (errno == ErrorCodes.ENOENT)
                    {
                        return;
                    }

                    throw new CiliumMapException($"Reading Cilium's map {Path}: {new BpfException("BPF_MAP_GET_NEXT_KEY", errno).Message}");
                }

                if (++steps > limit)
                {
                    throw new CiliumMapException($"Reading Cilium's map {Path} key by key did not finish after {limit} steps: the table changes faster than it can be walked");
                }

                if (BpfSyscall.TryLookup(fd, other, pv, out errno))
                {
                    visitor.OnEntry(new ReadOnlySpan<byte>(other, keySize), new ReadOnlySpan<byte>(pv, ValueSize));
                    LastCount++;
                }
                else if (errno != ErrorCodes.ENOENT)
                {
                    throw new CiliumMapException($"Reading Cilium's map {Path}: {new BpfException("BPF_MAP_LOOKUP_ELEM", errno).Message}");
                }

                if ((steps & 4095) == 0)
                {
                    BetweenChunks?.Invoke();
                }

                at = other;
                other = other == pn ? pc : pn;
            }
        }
    }

    private void EnsureStillPinned(uint id)
    {
        int fd;
        try
        {
            fd = BpfSyscall.OpenPinned(Path);
        }
        catch (BpfException ex) when (ex.IsNotFound)
        {
            throw new CiliumMapException($"Cilium's map {Path} was removed while it was being read; the next read starts over");
        }

        try
        {
            if (BpfSyscall.GetMapInfo(fd).Id != id)
            {
                throw new CiliumMapException($"Cilium's map {Path} was replaced while it was being read; the next read starts over");
            }
        }
        finally
        {
            BpfSyscall.Close(fd);
        }
    }
}
