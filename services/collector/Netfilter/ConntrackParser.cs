using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Egressd.Collector.Flows;
using Egressd.Contracts;

namespace Egressd.Collector.Netfilter;

/// <summary>
/// Parses ctnetlink messages (linux/netfilter/nfnetlink_conntrack.h) straight from the receive
/// buffer into <see cref="ConntrackEntry"/> values: no allocation per entry. Every length is
/// checked; input that is not what the kernel sends raises <see cref="NetlinkParseException"/>
/// and nothing else.
/// </summary>
internal static class ConntrackParser
{
    internal const int HeaderLength = 16;
    internal const ushort NlmsgNoop = 1;
    internal const ushort NlmsgError = 2;
    internal const ushort NlmsgDone = 3;
    internal const ushort NlmsgOverrun = 4;
    internal const ushort FlagMulti = 0x2;
    internal const ushort FlagDumpInterrupted = 0x10;
    internal const ushort CtNew = (1 << 8) | 0;
    internal const ushort CtGet = (1 << 8) | 1;
    internal const ushort CtDelete = (1 << 8) | 2;

    private const int AttrHeader = 4;
    private const ushort AttrTypeMask = 0x3FFF;

    // enum ctattr_type
    private const int CtaTupleOrig = 1;
    private const int CtaTupleReply = 2;
    private const int CtaStatus = 3;
    private const int CtaTimeout = 7;
    private const int CtaCountersOrig = 9;
    private const int CtaCountersReply = 10;
    private const int CtaId = 12;
    private const int CtaZone = 18;
    private const int CtaTimestamp = 20;

    // enum ctattr_tuple, ctattr_ip, ctattr_l4proto, ctattr_counters
    private const int CtaTupleIp = 1;
    private const int CtaTupleProto = 2;
    private const int CtaTupleZone = 3;
    private const int CtaIpV4Src = 1;
    private const int CtaIpV4Dst = 2;
    private const int CtaIpV6Src = 3;
    private const int CtaIpV6Dst = 4;
    private const int CtaProtoNum = 1;
    private const int CtaProtoSrcPort = 2;
    private const int CtaProtoDstPort = 3;
    private const int CtaCountersPackets = 1;
    private const int CtaCountersBytes = 2;
    private const int CtaCounters32Packets = 3;
    private const int CtaCounters32Bytes = 4;
    private const int CtaTimestampStart = 1;
    private const int CtaTimestampStop = 2;

    /// <summary>
    /// Parses every message in one received buffer, handing each conntrack entry to
    /// <paramref name="sink"/>. <paramref name="interrupted"/> is set when the kernel flagged the
    /// dump as inconsistent (the table changed under it) and it should be read again. A message
    /// whose header is sound but whose entry does not parse is skipped and counted in
    /// <paramref name="skipped"/>; a broken header ends the buffer with an exception.
    /// </summary>
    public static NetlinkBatchResult ParseBatch<TSink>(ReadOnlySpan<byte> buffer, TSink sink, out int errno, ref bool interrupted, ref int skipped)
        where TSink : IConntrackEntrySink
    {
        errno = 0;
        var rest = buffer;
        while (rest.Length > 0)
        {
            if (rest.Length < HeaderLength)
            {
                throw new NetlinkParseException($"{rest.Length} trailing bytes are shorter than a netlink header");
            }

            var length = MemoryMarshal.Read<uint>(rest);
            var type = MemoryMarshal.Read<ushort>(rest[4..]);
            var flags = MemoryMarshal.Read<ushort>(rest[6..]);
            if (length < HeaderLength || length > (uint)rest.Length)
            {
                throw new NetlinkParseException($"netlink message length {length} outside 16..{rest.Length}");
            }

            var message = rest[..(int)length];
            if ((flags & FlagDumpInterrupted) != 0)
            {
                interrupted = true;
            }

            switch (type)
            {
                case NlmsgDone:
                    return NetlinkBatchResult.Done;
                case NlmsgError:
                    if (message.Length < HeaderLength + 4)
                    {
                        throw new NetlinkParseException("NLMSG_ERROR without an error code");
                    }

                    var code = MemoryMarshal.Read<int>(message[HeaderLength..]);
                    if (code != 0)
                    {
                        errno = code == int.MinValue ? int.MaxValue : -code;
                        return NetlinkBatchResult.Error;
                    }

                    break;
                case CtNew or CtDelete:
                    var entry = default(ConntrackEntry);
                    try
                    {
                        ParseEntry(message[HeaderLength..], ref entry);
                    }
                    catch (NetlinkParseException)
                    {
                        skipped++;
                        break;
                    }

                    entry.Destroyed = type == CtDelete;
                    sink.OnEntry(entry);
                    break;
                default:
                    // NLMSG_NOOP, NLMSG_OVERRUN, expectations and other ctnetlink messages: not ours.
                    break;
            }

            var advance = Align(length);
            rest = advance >= (uint)rest.Length ? [] : rest[(int)advance..];
        }

        return NetlinkBatchResult.More;
    }

    /// <summary>Parses the payload of one IPCTNL_MSG_CT_NEW/DELETE message (nfgenmsg and attributes).</summary>
    public static void ParseEntry(ReadOnlySpan<byte> payload, ref ConntrackEntry entry)
    {
        if (payload.Length < 4)
        {
            throw new NetlinkParseException("conntrack message shorter than its nfgenmsg header");
        }

        var seen = 0;
        var attributes = payload[4..];
        while (NextAttribute(ref attributes, out var type, out var value))
        {
            switch (type)
            {
                case CtaTupleOrig:
                    ParseTuple(value, ref entry.Original);
                    seen |= 1;
                    break;
                case CtaTupleReply:
                    ParseTuple(value, ref entry.Reply);
                    seen |= 2;
                    break;
                case CtaStatus:
                    entry.Status = ReadU32(value, "CTA_STATUS");
                    break;
                case CtaTimeout:
                    entry.TimeoutSeconds = ReadU32(value, "CTA_TIMEOUT");
                    break;
                case CtaCountersOrig:
                    entry.OriginalCounters = ParseCounters(value);
                    entry.HasCounters = true;
                    break;
                case CtaCountersReply:
                    entry.ReplyCounters = ParseCounters(value);
                    entry.HasCounters = true;
                    break;
                case CtaId:
                    entry.Id = ReadU32(value, "CTA_ID");
                    break;
                case CtaZone:
                    entry.Zone = ReadU16(value, "CTA_ZONE");
                    break;
                case CtaTimestamp:
                    ParseTimestamp(value, ref entry);
                    break;
                default:
                    break;
            }
        }

        if (seen != 3)
        {
            throw new NetlinkParseException("conntrack entry without both its original and reply tuples");
        }

        if (entry.Original.Source.IsNone && entry.Original.Destination.IsNone)
        {
            throw new NetlinkParseException("conntrack tuple without addresses");
        }
    }

    private static void ParseTuple(ReadOnlySpan<byte> nested, ref ConntrackTuple tuple)
    {
        while (NextAttribute(ref nested, out var type, out var value))
        {
            switch (type)
            {
                case CtaTupleIp:
                    ParseAddresses(value, ref tuple);
                    break;
                case CtaTupleProto:
                    ParseProto(value, ref tuple);
                    break;
                case CtaTupleZone:
                    tuple.Zone = ReadU16(value, "CTA_TUPLE_ZONE");
                    break;
                default:
                    break;
            }
        }
    }

    private static void ParseAddresses(ReadOnlySpan<byte> nested, ref ConntrackTuple tuple)
    {
        while (NextAttribute(ref nested, out var type, out var value))
        {
            switch (type)
            {
                case CtaIpV4Src:
                    tuple.Source = IpAddr.FromV4(Exactly(value, 4, "CTA_IP_V4_SRC"));
                    break;
                case CtaIpV4Dst:
                    tuple.Destination = IpAddr.FromV4(Exactly(value, 4, "CTA_IP_V4_DST"));
                    break;
                case CtaIpV6Src:
                    tuple.Source = IpAddr.FromV6(Exactly(value, 16, "CTA_IP_V6_SRC"));
                    break;
                case CtaIpV6Dst:
                    tuple.Destination = IpAddr.FromV6(Exactly(value, 16, "CTA_IP_V6_DST"));
                    break;
                default:
                    break;
            }
        }
    }

    private static void ParseProto(ReadOnlySpan<byte> nested, ref ConntrackTuple tuple)
    {
        while (NextAttribute(ref nested, out var type, out var value))
        {
            switch (type)
            {
                case CtaProtoNum:
                    tuple.Protocol = Exactly(value, 1, "CTA_PROTO_NUM")[0];
                    break;
                case CtaProtoSrcPort:
                    tuple.SourcePort = ReadU16(value, "CTA_PROTO_SRC_PORT");
                    break;
                case CtaProtoDstPort:
                    tuple.DestinationPort = ReadU16(value, "CTA_PROTO_DST_PORT");
                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>CTA_TIMESTAMP (net.netfilter.nf_conntrack_timestamp): wall-clock nanoseconds of the entry's start, and of its end in a destroy event.</summary>
    private static void ParseTimestamp(ReadOnlySpan<byte> nested, ref ConntrackEntry entry)
    {
        while (NextAttribute(ref nested, out var type, out var value))
        {
            switch (type)
            {
                case CtaTimestampStart:
                    entry.StartNanos = BinaryPrimitives.ReadUInt64BigEndian(Exactly(value, 8, "CTA_TIMESTAMP_START"));
                    break;
                case CtaTimestampStop:
                    entry.StopNanos = BinaryPrimitives.ReadUInt64BigEndian(Exactly(value, 8, "CTA_TIMESTAMP_STOP"));
                    break;
                default:
                    break;
            }
        }
    }

    private static ConntrackCounters ParseCounters(ReadOnlySpan<byte> nested)
    {
        ulong packets = 0, bytes = 0;
        while (NextAttribute(ref nested, out var type, out var value))
        {
            switch (type)
            {
                case CtaCountersPackets:
                    packets = BinaryPrimitives.ReadUInt64BigEndian(Exactly(value, 8, "CTA_COUNTERS_PACKETS"));
                    break;
                case CtaCountersBytes:
                    bytes = BinaryPrimitives.ReadUInt64BigEndian(Exactly(value, 8, "CTA_COUNTERS_BYTES"));
                    break;
                case CtaCounters32Packets:
                    packets = ReadU32(value, "CTA_COUNTERS32_PACKETS");
                    break;
                case CtaCounters32Bytes:
                    bytes = ReadU32(value, "CTA_COUNTERS32_BYTES");
                    break;
                default:
                    break;
            }
        }

        return new ConntrackCounters(packets, bytes);
    }

    /// <summary>
    /// True when the datagram's last message is NLMSG_DONE or NLMSG_ERROR, or when its framing makes no sense (a
    /// length shorter than a header or past the end of the datagram): the receiver stops there, and
    /// <see cref="ParseBatch"/> says what was wrong. A length is untrusted input: it is compared with what is left
    /// before any arithmetic, so a value near 2^32 can neither overflow nor move the offset backwards.
    /// </summary>
    internal static bool EndsDump(ReadOnlySpan<byte> datagram)
    {
        var rest = datagram;
        ushort last = 0;
        while (rest.Length >= HeaderLength)
        {
            var length = MemoryMarshal.Read<uint>(rest);
            last = MemoryMarshal.Read<ushort>(rest[4..]);
            if (length < HeaderLength || length > (uint)rest.Length)
            {
                return true;
            }

            // length fits the span here, so padding it to 4 bytes stays far below uint's limit.
            var advance = Align(length);
            rest = advance >= (uint)rest.Length ? [] : rest[(int)advance..];
        }

        return last is NlmsgDone or NlmsgError;
    }

    /// <summary>Takes the next attribute off <paramref name="rest"/>; false at the end.</summary>
    private static bool NextAttribute(ref ReadOnlySpan<byte> rest, out int type, out ReadOnlySpan<byte> value)
    {
        if (rest.Length < AttrHeader)
        {
            if (rest.Length != 0)
            {
                throw new NetlinkParseException($"{rest.Length} trailing bytes are shorter than an attribute header");
            }

            type = 0;
            value = default;
            return false;
        }

        var length = MemoryMarshal.Read<ushort>(rest);
        type = MemoryMarshal.Read<ushort>(rest[2..]) & AttrTypeMask;
        if (length < AttrHeader || length > rest.Length)
        {
            throw new NetlinkParseException($"attribute {type} length {length} outside 4..{rest.Length}");
        }

        value = rest[AttrHeader..length];
        var advance = (int)Align(length);
        rest = advance >= rest.Length ? [] : rest[advance..];
        return true;
    }

    private static ReadOnlySpan<byte> Exactly(ReadOnlySpan<byte> value, int length, string name) =>
        value.Length >= length ? value[..length] : throw new NetlinkParseException($"{name} has {value.Length} bytes, needs {length}");

    private static uint ReadU32(ReadOnlySpan<byte> value, string name) => BinaryPrimitives.ReadUInt32BigEndian(Exactly(value, 4, name));

    private static ushort ReadU16(ReadOnlySpan<byte> value, string name) => BinaryPrimitives.ReadUInt16BigEndian(Exactly(value, 2, name));

    private static uint Align(uint length) => (length + 3u) & ~3u;
}
