using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Egressd.Collector.Native;

namespace Egressd.Collector.Cilium;

/// <summary>
/// The few bpf(2) commands the Cilium reader needs, and the ones the tests need to build maps like
/// Cilium's. No library wraps bpf(2) for .NET, and each command is one struct of integers, so this
/// is P/Invoke over syscall(2). Attribute layouts are union bpf_attr in include/uapi/linux/bpf.h.
/// </summary>
[SupportedOSPlatform("linux")]
internal static unsafe class BpfSyscall
{

    public const uint MapTypeHash = 1;
    public const uint MapTypeLruHash = 9;

    private const int MapCreate = 0;
    private const int MapLookupElem = 1;
    private const int MapUpdateElem = 2;
    private const int MapDeleteElem = 3;
    private const int MapGetNextKey = 4;
    private const int ObjPin = 6;
    private const int ObjGet = 7;
    private const int ObjGetInfoByFd = 15;
    private const int MapLookupBatch = 24;

    private const uint BPF_F_RDONLY = 1 << 3;

    // x86_64 and arm64 are the architectures Kubernetes nodes run; the syscall number differs.
    private static readonly long SysBpf = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        var other => throw new PlatformNotSupportedException($"bpf(2) on {other} is not wired"),
    };

    /// <summary>Opens a pinned object read-only; throws <see cref="BpfException"/> (ENOENT when nothing is pinned there).</summary>
    public static int OpenPinned(string path, bool readOnly = true)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            var attr = new ObjAttr { Pathname = (ulong)p, FileFlags = readOnly ? BPF_F_RDONLY : 0 };
            return (int)Check(Call(ObjGet, &attr, sizeof(ObjAttr)), $"BPF_OBJ_GET {path}");
        }
    }

    public static void Pin(int fd, string path)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            var attr = new ObjAttr { Pathname = (ulong)p, BpfFd = (uint)fd };
            Check(Call(ObjPin, &attr, sizeof(ObjAttr)), $"BPF_OBJ_PIN {path}");
        }
    }

    public static MapInfo GetMapInfo(int fd)
    {
        MapInfo info = default;
        var attr = new InfoAttr { BpfFd = (uint)fd, InfoLen = (uint)sizeof(MapInfo), Info = (ulong)&info };
        Check(Call(ObjGetInfoByFd, &attr, sizeof(InfoAttr)), "BPF_OBJ_GET_INFO_BY_FD");
        return info;
    }

    public static int CreateMap(uint type, uint keySize, uint valueSize, uint maxEntries, string name)
    {
        var attr = new CreateAttr { MapType = type, KeySize = keySize, ValueSize = valueSize, MaxEntries = maxEntries };
        var nameBytes = System.Text.Encoding.ASCII.GetBytes(name);
        for (var i = 0; i < Math.Min(nameBytes.Length, 15); i++)
        {
            attr.Name[i] = nameBytes[i];
        }

        return (int)Check(Call(MapCreate, &attr, sizeof(CreateAttr)), $"BPF_MAP_CREATE {name}");
    }

    public static void Update(int fd, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var attr = new ElemAttr { MapFd = (uint)fd, Key = (ulong)k, ValueOrNextKey = (ulong)v };
            Check(Call(MapUpdateElem, &attr, sizeof(ElemAttr)), "BPF_MAP_UPDATE_ELEM");
        }
    }

    public static void Delete(int fd, ReadOnlySpan<byte> key)
    {
        fixed (byte* k = key)
        {
            var attr = new ElemAttr { MapFd = (uint)fd, Key = (ulong)k };
            Check(Call(MapDeleteElem, &attr, sizeof(ElemAttr)), "BPF_MAP_DELETE_ELEM");
        }
    }

    /// <summary>False when the key is not there (any more).</summary>
    public static bool TryLookup(int fd, byte* key, byte* value, out int errno)
    {
        var attr = new ElemAttr { MapFd = (uint)fd, Key = (ulong)key, ValueOrNextKey = (ulong)value };
        return Result(Call(MapLookupElem, &attr, sizeof(ElemAttr)), out errno);
    }

    /// <summary>The key after <paramref name="key"/> (the first one when null); false with ENOENT at the end.</summary>
    public static bool TryGetNextKey(int fd, byte* key, byte* nextKey, out int errno)
    {
        var attr = new ElemAttr { MapFd = (uint)fd, Key = (ulong)key, ValueOrNextKey = (ulong)nextKey };
        return Result(Call(MapGetNextKey, &attr, sizeof(ElemAttr)), out errno);
    }

    /// <summary>
    /// Up to <paramref name="count"/> entries from where <paramref name="inBatch"/> left off (null:
    /// the start). Returns the number read; <paramref name="done"/> is set once the map is exhausted
    /// (the kernel's ENOENT, which can come with the last entries).
    /// </summary>
    public static bool TryLookupBatch(int fd, byte* inBatch, byte* outBatch, byte* keys, byte* values, ref uint count, out bool done, out int errno)
    {
        var attr = new BatchAttr
        {
            InBatch = (ulong)inBatch,
            OutBatch = (ulong)outBatch,
            Keys = (ulong)keys,
            Values = (ulong)values,
            Count = count,
            MapFd = (uint)fd,
        };
        var ok = Result(Call(MapLookupBatch, &attr, sizeof(BatchAttr)), out errno);
        count = attr.Count;
        done = !ok && errno == ErrorCodes.ENOENT;
        return ok || done;
    }

    public static void Close(int fd)
    {
        if (fd >= 0)
        {
            _ = Libc.Close(fd);
        }
    }

    private static long Call(int cmd, void* attr, int size) => Libc.Syscall(SysBpf, cmd, attr, (uint)size);

    private static long Check(long result, string operation) =>
        result >= 0 ? result : throw new BpfException(operation, Marshal.GetLastPInvokeError());

    private static bool Result(long result, out int errno)
    {
        errno = result >= 0 ? 0 : Marshal.GetLastPInvokeError();
        return result >= 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ObjAttr
    {
        public ulong Pathname;
        public uint BpfFd;
        public uint FileFlags;
        public ulong Pad;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct InfoAttr
    {
        public uint BpfFd;
        public uint InfoLen;
        public ulong Info;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ElemAttr
    {
        public uint MapFd;
        public uint Pad;
        public ulong Key;
        public ulong ValueOrNextKey;
        public ulong Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct BatchAttr
    {
        public ulong InBatch;
        public ulong OutBatch;
        public ulong Keys;
        public ulong Values;
        public uint Count;
        public uint MapFd;
        public ulong ElemFlags;
        public ulong Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CreateAttr
    {
        public uint MapType;
        public uint KeySize;
        public uint ValueSize;
        public uint MaxEntries;
        public uint MapFlags;
        public uint InnerMapFd;
        public uint NumaNode;
        public fixed byte Name[16];
        public uint MapIfIndex;
        public uint BtfFd;
        public uint BtfKeyTypeId;
        public uint BtfValueTypeId;
    }

    /// <summary>The leading fields of struct bpf_map_info.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MapInfo
    {
        public uint Type;
        public uint Id;
        public uint KeySize;
        public uint ValueSize;
        public uint MaxEntries;
        public uint MapFlags;
        public fixed byte Name[16];
        public uint IfIndex;
        public uint BtfVmlinuxValueTypeId;
        public ulong NetnsDev;
        public ulong NetnsIno;
        public uint BtfId;
        public uint BtfKeyTypeId;
        public uint BtfValueTypeId;
        public uint Pad;
        public ulong MapExtra;
    }
}
