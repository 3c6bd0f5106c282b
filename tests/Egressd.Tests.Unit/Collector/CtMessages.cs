using System.Buffers.Binary;
using System.Net;

namespace Egressd.Tests.Collector;

/// <summary>Builds ctnetlink messages byte for byte as the kernel lays them out, for parser tests.</summary>
internal static class CtMessages
{
    public sealed record Spec(
        IPAddress OrigSrc, IPAddress OrigDst, IPAddress ReplySrc, IPAddress ReplyDst,
        byte Protocol = 6, ushort SrcPort = 40000, ushort DstPort = 80,
        ulong OrigPackets = 3, ulong OrigBytes = 300, ulong ReplyPackets = 4, ulong ReplyBytes = 4000,
        uint Id = 7, uint Timeout = 120, bool Counters = true, ushort Type = 0x0100, ulong Start = 0, ulong Stop = 0);

    public static byte[] Message(Spec s, ushort flags = 0x2, uint seq = 1)
    {
        var attrs = new List<byte>();
        Nested(attrs, 1, Tuple(s.OrigSrc, s.OrigDst, s.Protocol, s.SrcPort, s.DstPort));
        Nested(attrs, 2, Tuple(s.ReplySrc, s.ReplyDst, s.Protocol, s.DstPort, s.SrcPort));
        Attr(attrs, 3, Be32(0x8 | 0x2));
        Attr(attrs, 7, Be32(s.Timeout));
        if (s.Counters)
        {
            Nested(attrs, 9, Counters(s.OrigPackets, s.OrigBytes));
            Nested(attrs, 10, Counters(s.ReplyPackets, s.ReplyBytes));
        }

        Attr(attrs, 11, Be32(1));
        Attr(attrs, 12, Be32(s.Id));
        if (s.Start != 0)
        {
            var timestamp = new List<byte>();
            Attr(timestamp, 1, Be64(s.Start));
            if (s.Stop != 0)
            {
                Attr(timestamp, 2, Be64(s.Stop));
            }

            Nested(attrs, 20, timestamp);
        }
        var family = s.OrigSrc.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? (byte)2 : (byte)10;
        var payload = new List<byte> { family, 0, 0, 0 };
        payload.AddRange(attrs);
        return Header(s.Type, flags, seq, payload);
    }

    public static byte[] Done(uint seq = 1) => Header(3, 0x2, seq, [0, 0, 0, 0]);

    public static byte[] Error(int errno, uint seq = 1)
    {
        var payload = new List<byte>();
        payload.AddRange(BitConverter.GetBytes(-errno));
        payload.AddRange(new byte[16]);
        return Header(2, 0, seq, payload);
    }

    public static byte[] Concat(params byte[][] messages) => [.. messages.SelectMany(m => m)];

    private static byte[] Header(ushort type, ushort flags, uint seq, List<byte> payload)
    {
        var message = new byte[16 + payload.Count];
        BitConverter.TryWriteBytes(message.AsSpan(0), (uint)message.Length);
        BitConverter.TryWriteBytes(message.AsSpan(4), type);
        BitConverter.TryWriteBytes(message.AsSpan(6), flags);
        BitConverter.TryWriteBytes(message.AsSpan(8), seq);
        payload.CopyTo(message, 16);
        var padded = new byte[(message.Length + 3) & ~3];
        message.CopyTo(padded, 0);
        return padded;
    }

    private static List<byte> Tuple(IPAddress src, IPAddress dst, byte protocol, ushort sport, ushort dport)
    {
        var ip = new List<byte>();
        var v4 = src.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        Attr(ip, v4 ? 1 : 3, src.GetAddressBytes());
        Attr(ip, v4 ? 2 : 4, dst.GetAddressBytes());
        var proto = new List<byte>();
        Attr(proto, 1, [protocol]);
        Attr(proto, 2, Be16(sport));
        Attr(proto, 3, Be16(dport));
        var tuple = new List<byte>();
        Nested(tuple, 1, ip);
        Nested(tuple, 2, proto);
        return tuple;
    }

    private static List<byte> Counters(ulong packets, ulong bytes)
    {
        var counters = new List<byte>();
        Attr(counters, 1, Be64(packets));
        Attr(counters, 2, Be64(bytes));
        return counters;
    }

    private static void Nested(List<byte> into, int type, List<byte> value) => Attr(into, type | 0x8000, [.. value]);

    private static void Attr(List<byte> into, int type, byte[] value)
    {
        into.AddRange(BitConverter.GetBytes((ushort)(4 + value.Length)));
        into.AddRange(BitConverter.GetBytes((ushort)type));
        into.AddRange(value);
        while (into.Count % 4 != 0)
        {
            into.Add(0);
        }
    }

    private static byte[] Be16(ushort v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, v);
        return b;
    }

    private static byte[] Be32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    private static byte[] Be64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, v);
        return b;
    }
}
