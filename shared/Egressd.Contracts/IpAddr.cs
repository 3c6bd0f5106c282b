using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Serialization;

namespace Egressd.Contracts;

/// <summary>
/// An IPv4 or IPv6 address as two integers, so flows can be keyed and compared without
/// allocating. IPv4 is held in its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so one range check
/// serves both families. On the wire it is 4 or 16 bytes; in JSON, its canonical text.
/// </summary>
[JsonConverter(typeof(IpAddrJsonConverter))]
public readonly record struct IpAddr(ulong Hi, ulong Lo)
{
    private const ulong V4Prefix = 0x0000_FFFF_0000_0000;

    public static IpAddr None => default;

    public bool IsV4 => Hi == 0 && (Lo & 0xFFFF_FFFF_0000_0000) == V4Prefix;

    public bool IsNone => Hi == 0 && Lo == 0;

    public static IpAddr FromV4(ReadOnlySpan<byte> bytes) => FromV4(BinaryPrimitives.ReadUInt32BigEndian(bytes));

    public static IpAddr FromV4(uint address) => new(0, V4Prefix | address);

    public static IpAddr FromV6(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));

    public static IpAddr From(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return address.AddressFamily == AddressFamily.InterNetwork ? FromV4(bytes) : FromV6(bytes);
    }

    public static IpAddr Parse(string text) =>
        TryParse(text, out var address) ? address : throw new FormatException($"'{text}' is not an IP address");

    /// <summary>
    /// Reads an address from text. Dotted quads, by far the most common, are read here without
    /// the allocation of an <see cref="IPAddress"/>; anything else goes through it.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out IpAddr address)
    {
        if (TryParseDottedQuad(text, out var v4))
        {
            address = FromV4(v4);
            return true;
        }

        if (IPAddress.TryParse(text, out var parsed))
        {
            address = From(parsed);
            return true;
        }

        address = None;
        return false;
    }

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

    /// <summary>The address's bytes in network order: 4 for IPv4, 16 for IPv6. Returns the count written.</summary>
    public int WriteBytes(Span<byte> destination)
    {
        if (IsV4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)Lo);
            return 4;
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Lo);
        return 16;
    }

    /// <summary>
    /// Writes the canonical text as UTF-8. Dotted quads are written here without an allocation;
    /// IPv6 goes through <see cref="IPAddress"/>.
    /// </summary>
    public bool TryFormat(Span<byte> utf8, out int written)
    {
        if (!IsV4)
        {
            return ToIPAddress().TryFormat(utf8, out written);
        }

        written = 0;
        var value = (uint)Lo;
        for (var shift = 24; shift >= 0; shift -= 8)
        {
            if (shift != 24)
            {
                if (written >= utf8.Length)
                {
                    return false;
                }

                utf8[written++] = (byte)'.';
            }

            if (!((value >> shift) & 0xFF).TryFormat(utf8[written..], out var digits, default, System.Globalization.CultureInfo.InvariantCulture))
            {
                return false;
            }

            written += digits;
        }

        return true;
    }

    private static bool TryParseDottedQuad(ReadOnlySpan<char> text, out uint value)
    {
        value = 0;
        uint part = 0;
        int digits = 0, dots = 0;
        foreach (var c in text)
        {
            if (c is >= '0' and <= '9')
            {
                part = (part * 10) + (uint)(c - '0');
                if (++digits > 3 || part > 255)
                {
                    return false;
                }
            }
            else if (c == '.' && digits > 0 && dots < 3)
            {
                value = (value << 8) | part;
                part = 0;
                digits = 0;
                dots++;
            }
            else
            {
                return false;
            }
        }

        if (dots != 3 || digits == 0)
        {
            return false;
        }

        value = (value << 8) | part;
        return true;
    }
}
