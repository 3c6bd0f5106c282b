using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Egressd.Tests.Collector;

/// <summary>
/// Builds DNS responses the way servers write them (RFC 1035 §4.1, names compressed against
/// every name and suffix already written), and wraps them in IPv4/IPv6 UDP or TCP packets as an
/// AF_PACKET SOCK_DGRAM socket delivers them.
/// </summary>
internal sealed class DnsMessages
{
    private readonly List<byte> bytes = [];
    private readonly Dictionary<string, int> written = new(StringComparer.OrdinalIgnoreCase);
    private int answers;

    private DnsMessages(ushort id, ushort flags, string? question, ushort questionType)
    {
        Put16(id);
        Put16(flags);
        Put16((ushort)(question is null ? 0 : 1));
        Put16(0);
        Put16(0);
        Put16(0);
        if (question is not null)
        {
            PutName(question);
            Put16(questionType);
            Put16(1);
        }
    }

    public static DnsMessages Response(string question, ushort type = 1, ushort id = 0x1234, int rcode = 0) =>
        new(id, (ushort)(0x8180 | rcode), question, type);

    public static DnsMessages Query(string question) => new(0x4321, 0x0100, question, 1);

    public DnsMessages A(string owner, string address, uint ttl = 300) => Record(owner, 1, ttl, IPAddress.Parse(address).GetAddressBytes());

    public DnsMessages Aaaa(string owner, string address, uint ttl = 300) => Record(owner, 28, ttl, IPAddress.Parse(address).GetAddressBytes());

    public DnsMessages Cname(string owner, string target, uint ttl = 300)
    {
        PutName(owner);
        Put16(5);
        Put16(1);
        Put32(ttl);
        var lengthAt = bytes.Count;
        Put16(0);
        PutName(target);
        var length = bytes.Count - lengthAt - 2;
        bytes[lengthAt] = (byte)(length >> 8);
        bytes[lengthAt + 1] = (byte)length;
        return Counted();
    }

    public DnsMessages Record(string owner, ushort type, uint ttl, byte[] data)
    {
        PutName(owner);
        Put16(type);
        Put16(1);
        Put32(ttl);
        Put16((ushort)data.Length);
        bytes.AddRange(data);
        return Counted();
    }

    public byte[] Build() => [.. bytes];

    /// <summary>The message as an IPv4 (or IPv6) UDP packet from port 53.</summary>
    public byte[] Udp(bool v6 = false) => UdpPacket(Build(), v6);

    /// <summary>The message as one TCP segment from port 53, with its two-byte length first.</summary>
    public byte[] Tcp(bool v6 = false)
    {
        var message = Build();
        var payload = new byte[message.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)message.Length);
        message.CopyTo(payload, 2);
        return TcpPacket(payload, v6);
    }

    public static byte[] UdpPacket(byte[] payload, bool v6 = false, ushort sourcePort = 53)
    {
        var udp = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
        payload.CopyTo(udp, 8);
        return IpPacket(udp, 17, v6);
    }

    public static byte[] TcpPacket(byte[] payload, bool v6 = false)
    {
        var tcp = new byte[20 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 53);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(2), 40000);
        tcp[12] = 5 << 4;
        payload.CopyTo(tcp, 20);
        return IpPacket(tcp, 6, v6);
    }

    private static byte[] IpPacket(byte[] transport, byte protocol, bool v6)
    {
        if (v6)
        {
            var packet = new byte[40 + transport.Length];
            packet[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)transport.Length);
            packet[6] = protocol;
            packet[7] = 64;
            transport.CopyTo(packet, 40);
            return packet;
        }

        var v4 = new byte[20 + transport.Length];
        v4[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(v4.AsSpan(2), (ushort)v4.Length);
        v4[8] = 64;
        v4[9] = protocol;
        transport.CopyTo(v4, 20);
        return v4;
    }

    private DnsMessages Counted()
    {
        answers++;
        bytes[6] = (byte)(answers >> 8);
        bytes[7] = (byte)answers;
        return this;
    }

    private void PutName(string name)
    {
        var labels = name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < labels.Length; i++)
        {
            var suffix = string.Join('.', labels[i..]);
            if (written.TryGetValue(suffix, out var at))
            {
                Put16((ushort)(0xC000 | at));
                return;
            }

            if (bytes.Count < 0x3FFF)
            {
                written[suffix] = bytes.Count;
            }

            var label = Encoding.ASCII.GetBytes(labels[i]);
            bytes.Add((byte)label.Length);
            bytes.AddRange(label);
        }

        bytes.Add(0);
    }

    private void Put16(ushort value)
    {
        bytes.Add((byte)(value >> 8));
        bytes.Add((byte)value);
    }

    private void Put32(uint value)
    {
        Put16((ushort)(value >> 16));
        Put16((ushort)value);
    }
}
