using System.Text;

namespace Egressd.Shared.Wire;

/// <summary>
/// Protobuf's wire format written straight into a growable buffer that is kept and used again.
/// Google.Protobuf writes a packed column by working out every value's size once for the field's
/// length and again while writing it, each through a codec delegate: about half of encoding a
/// batch. Here a column is written once, as it is filled, and copied behind its tag and length.
/// Fields follow proto3's rules as Google.Protobuf applies them (a zero scalar or an empty string
/// or column is left out; an embedded message is written even when empty), so the bytes are the
/// ones Google.Protobuf would write; the wire tests hold them to that.
/// </summary>
internal sealed class ProtoBuffer
{
    private const int VarintType = 0;
    private const int LengthDelimitedType = 2;

    // Enough for a 5,000-flow batch's body (about 300 KB enriched) and each of its columns.
    private const int KeptBytes = 4 << 20;
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private byte[] bytes = new byte[256];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Written => bytes.AsSpan(0, Length);

    /// <summary>Empties the buffer for the next batch; a rare huge batch does not pin its room for the life of the process.</summary>
    public void Clear()
    {
        Length = 0;
        if (bytes.Length > KeptBytes)
        {
            bytes = new byte[256];
        }
    }

    public byte[] ToArray() => Written.ToArray();

    /// <summary>One value of a packed column.</summary>
    public void Varint(ulong value)
    {
        if (bytes.Length - Length < 10)
        {
            Grow(10);
        }

        var at = Length;
        while (value >= 0x80)
        {
            bytes[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        bytes[at++] = (byte)value;
        Length = at;
    }

    public void VarintField(int field, ulong value)
    {
        if (value != 0)
        {
            Tag(field, VarintType);
            Varint(value);
        }
    }

    /// <summary>A signed field (int32 or int64): negative values take ten bytes, as protobuf sign-extends them.</summary>
    public void SignedField(int field, long value) => VarintField(field, unchecked((ulong)value));

    /// <summary>A string field, left out when empty.</summary>
    public void StringField(int field, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            String(field, value);
        }
    }

    /// <summary>One string of a repeated string field: written even when empty.</summary>
    public void String(int field, string value)
    {
        Tag(field, LengthDelimitedType);
        var length = Utf8.GetByteCount(value);
        Varint((uint)length);
        Reserve(length);
        Length += Utf8.GetBytes(value, bytes.AsSpan(Length));
    }

    /// <summary>A bytes field or a packed column, left out when empty.</summary>
    public void BytesField(int field, ReadOnlySpan<byte> value)
    {
        if (!value.IsEmpty)
        {
            Embedded(field, value);
        }
    }

    /// <summary>A packed column, left out when it holds no value.</summary>
    public void Packed(int field, ProtoBuffer column) => BytesField(field, column.Written);

    /// <summary>An embedded message, written even when empty (proto3 writes every message field that is set).</summary>
    public void Embedded(int field, ReadOnlySpan<byte> message)
    {
        Tag(field, LengthDelimitedType);
        Varint((uint)message.Length);
        Reserve(message.Length);
        message.CopyTo(bytes.AsSpan(Length));
        Length += message.Length;
    }

    private void Tag(int field, int wireType) => Varint((uint)((field << 3) | wireType));

    private void Reserve(int count)
    {
        if (bytes.Length - Length < count)
        {
            Grow(count);
        }
    }

    private void Grow(int count) => Array.Resize(ref bytes, Math.Max(bytes.Length * 2, Length + count));
}
