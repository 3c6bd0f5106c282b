using System.Buffers.Binary;

namespace Egressd.Collector.Dns;

/// <summary>
/// Finds the DNS payload in a captured IPv4 or IPv6 packet (network header first, as an AF_PACKET
/// SOCK_DGRAM socket delivers it) sent from port 53 over UDP or TCP.
/// </summary>
internal static class DnsPacket
{
    private const int DnsPort = 53;
    private const byte Tcp = 6;
    private const byte Udp = 17;

    /// <summary>The transport payload of a packet from port 53; <see cref="DnsTransport.None"/> for anything else.</summary>
    public static DnsTransport Payload(ReadOnlySpan<byte> packet, out ReadOnlySpan<byte> payload)
    {
        payload = default;
        if (packet.IsEmpty)
        {
            return DnsTransport.None;
        }

        byte protocol;
        ReadOnlySpan<byte> transport;
        switch (packet[0] >> 4)
        {
            case 4:
                var headerLength = (packet[0] & 0x0F) * 4;
                if (headerLength < 20 || packet.Length < headerLength)
                {
                    return DnsTransport.None;
                }

                // A later fragment has no transport header; a first one is cut short and fails as truncated.
                if ((BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x1FFF) != 0)
                {
                    return DnsTransport.None;
                }

                int total = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
                // Offloaded (GSO/GRO) packets can carry 0 or a stale total length: trust what arrived.
                var end = total >= headerLength && total <= packet.Length ? total : packet.Length;
                protocol = packet[9];
                transport = packet[headerLength..end];
                break;
            case 6:
                if (packet.Length < 40)
                {
                    return DnsTransport.None;
                }

                int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
                var v6End = payloadLength > 0 && 40 + payloadLength <= packet.Length ? 40 + payloadLength : packet.Length;
                protocol = packet[6];
                transport = packet[40..v6End];
                break;
            default:
                return DnsTransport.None;
        }

        switch (protocol)
        {
            case Udp when transport.Length >= 8 && BinaryPrimitives.ReadUInt16BigEndian(transport) == DnsPort:
                int udpLength = BinaryPrimitives.ReadUInt16BigEndian(transport[4..]);
                payload = udpLength >= 8 && udpLength <= transport.Length ? transport[8..udpLength] : transport[8..];
                return DnsTransport.Udp;
            case Tcp when transport.Length >= 20 && BinaryPrimitives.ReadUInt16BigEndian(transport) == DnsPort:
                var dataOffset = (transport[12] >> 4) * 4;
                if (dataOffset < 20 || dataOffset >= transport.Length)
                {
                    // Headers only: a handshake or an acknowledgement.
                    return DnsTransport.None;
                }

                payload = transport[dataOffset..];
                return DnsTransport.Tcp;
            default:
                return DnsTransport.None;
        }
    }
}
