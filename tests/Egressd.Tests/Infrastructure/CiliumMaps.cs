using System.Buffers.Binary;
using System.Net;
using System.Runtime.Versioning;
using Egressd.Collector.Cilium;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// A private bpf filesystem with maps shaped like Cilium's global conntrack maps, made and filled
/// through bpf(2) as Cilium's agent and datapath would, and unmounted when disposed.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class CiliumMaps : IDisposable
{
    public const byte Out = 0;
    public const byte In = 1;
    public const byte Related = 2;
    public const byte Service = 4;

    private readonly List<int> fds = [];

    public CiliumMaps()
    {
        NetnsLab.RequireRoot();
        Root = Directory.CreateTempSubdirectory("egt-bpffs-").FullName;
        Shell.Run("mount", "-t", "bpf", "bpf", Root);
        Directory.CreateDirectory(Globals);
    }

    public string Root { get; }

    public string Globals => Path.Combine(Root, CiliumConntrack.GlobalsDirectory);

    /// <summary>Makes and pins an LRU hash map (what Cilium uses for its CT maps); returns its fd.</summary>
    public int Create(string name, bool ipv6, uint maxEntries = 1024, uint valueSize = CiliumCtMap.ValueSize)
    {
        var fd = BpfSyscall.CreateMap(BpfSyscall.MapTypeLruHash, (uint)(ipv6 ? CiliumCtMap.KeySizeV6 : CiliumCtMap.KeySizeV4), valueSize, maxEntries, name);
        fds.Add(fd);
        BpfSyscall.Pin(fd, Path.Combine(Globals, name));
        return fd;
    }

    public void Unpin(string name) => File.Delete(Path.Combine(Globals, name));

    /// <summary>
    /// A key as Cilium stores it: the connection's source in the field named daddr, its
    /// destination in saddr, then dport, sport (big-endian), nexthdr, flags.
    /// </summary>
    public static byte[] Key(string source, ushort sourcePort, string destination, ushort destinationPort, byte protocol, byte flags)
    {
        var s = IPAddress.Parse(source).GetAddressBytes();
        var d = IPAddress.Parse(destination).GetAddressBytes();
        var key = new byte[(2 * s.Length) + 6];
        s.CopyTo(key, 0);
        d.CopyTo(key, s.Length);
        BinaryPrimitives.WriteUInt16BigEndian(key.AsSpan(2 * s.Length), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(key.AsSpan((2 * s.Length) + 2), sourcePort);
        key[(2 * s.Length) + 4] = protocol;
        key[(2 * s.Length) + 5] = flags;
        return key;
    }

    /// <summary>A 1.14/1.15 value: rx_packets, rx_bytes, tx_packets, tx_bytes, lifetime.</summary>
    public static byte[] SplitValue(ulong rxPackets, ulong rxBytes, ulong txPackets, ulong txBytes, uint lifetime) =>
        Value(rxPackets, rxBytes, txPackets, txBytes, lifetime);

    /// <summary>A 1.16+ value: reserved0, backend_id, packets, bytes, lifetime.</summary>
    public static byte[] CombinedValue(ulong packets, ulong bytes, uint lifetime, ulong backendId = 0) =>
        Value(0, backendId, packets, bytes, lifetime);

    private static byte[] Value(ulong f0, ulong f1, ulong f2, ulong f3, uint lifetime)
    {
        var value = new byte[CiliumCtMap.ValueSize];
        BinaryPrimitives.WriteUInt64LittleEndian(value, f0);
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(8), f1);
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(16), f2);
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(24), f3);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(32), lifetime);
        value[52] = 0xAB; // last_rx_report: the tail is not read as counters
        return value;
    }

    public void Dispose()
    {
        foreach (var fd in fds)
        {
            BpfSyscall.Close(fd);
        }

        Shell.TryRun("umount", Root);
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
