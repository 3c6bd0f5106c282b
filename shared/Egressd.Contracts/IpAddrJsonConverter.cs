using System.Text.Json;
using System.Text.Json.Serialization;

namespace Egressd.Contracts;

/// <summary>An address as its canonical text in JSON, as people read it.</summary>
public sealed class IpAddrJsonConverter : JsonConverter<IpAddr>
{
    public override IpAddr Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"an IP address must be a string, not {reader.TokenType}");
        }

        var text = reader.GetString();
        return IpAddr.TryParse(text, out var address) ? address : throw new JsonException($"'{text}' is not an IP address");
    }

    public override void Write(Utf8JsonWriter writer, IpAddr value, JsonSerializerOptions options)
    {
        Span<byte> utf8 = stackalloc byte[64];
        if (value.TryFormat(utf8, out var written))
        {
            writer.WriteStringValue(utf8[..written]);
        }
        else
        {
            writer.WriteStringValue(value.ToString());
        }
    }
}
