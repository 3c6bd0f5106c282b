using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Egressd.Collector.Conntrack;

/// <summary>
/// An IPv4 or IPv6 address as two integers, so entries can be keyed and compared without
/// allocating. IPv4 is held in its IPv4-mapped IPv6 form (::ffff:a.b.c.d).
/// </summary>
internal readonly record struct IpAddr(ulong Hi, ulong Lo)
{
    private const ulong V4Prefix = 0x0000_FFFF_0000_0000;

    public static IpAddr None => default;

    public bool IsV4 => Hi == 0 && (Lo & 0xFFFF_FFFF_0000_0000) == V4Prefix;

    public bool IsNone => Hi == 0 && Lo == 0;

    public static IpAddr FromV4(ReadOnlySpan<byte> bytes) => new(0, V4Prefix | BinaryPrimitives.ReadUInt32BigEndian(bytes));

    public static IpAddr FromV6(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));

    public static IpAddr From(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            return FromV4(bytes);
        }

        address.TryWriteBytes(bytes, out _);
        return FromV6(bytes);
    }

    public static IpAddr Parse(string text) => From(IPAddress.Parse(text));

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        if (IsV4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)Lo);
            return new IPAddress(bytes[..4]);
        }

        BinaryPrimitives.WriteUInt64BigEndian(bytes, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], Lo);
        return new IPAddress(bytes);
    }

    public override string ToString() => ToIPAddress().ToString();
}
