using System.Buffers;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Egressd.Contracts;

namespace Egressd.Exporter.Sinks.FlowLog;

/// <summary>
/// Encodes a batch as flat JSON lines, one per flow, straight into a buffer: no object graph per
/// line. Each line starts with the batch id and the line's place in the batch
/// (<c>batch_line</c> of <c>batch_lines</c>), so a reader — and the sink itself after a crash —
/// can tell a whole batch from a torn one. Keys are snake_case; unknown (null) values are left out.
/// </summary>
internal static class FlowLogLines
{
    // A log file, not HTML: keep '+' in timestamps and non-ASCII names readable. Quotes and
    // control characters are still escaped, so every line stays one valid JSON object.
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    internal static readonly JsonEncodedText BatchId = JsonEncodedText.Encode("batch_id");
    internal static readonly JsonEncodedText BatchLine = JsonEncodedText.Encode("batch_line");
    internal static readonly JsonEncodedText BatchLines = JsonEncodedText.Encode("batch_lines");

    // The contracts' own wire names ("same-zone", "replay"), so the log and the bus say the same.
    private static readonly Dictionary<FlowSource, JsonEncodedText> SourceNames = WireNames<FlowSource>();
    private static readonly Dictionary<TrafficClass, JsonEncodedText> ClassNames = WireNames<TrafficClass>();
    private static readonly JsonEncodedText Combined = WireNames<FlowCounterDirections>()[FlowCounterDirections.Combined];

    /// <summary>Appends every line of <paramref name="batch"/> to <paramref name="buffer"/>.</summary>
    public static void Write(IBufferWriter<byte> buffer, FlowBatchEnriched batch) => Write(buffer, batch, 0, batch.Flows.Count);

    /// <summary>Appends the lines of flows <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> (their <c>batch_line</c> stays their place in the whole batch).</summary>
    public static void Write(IBufferWriter<byte> buffer, FlowBatchEnriched batch, int start, int count)
    {
        var lines = new FlowLogLineWriter(batch);
        for (var i = start; i < start + count; i++)
        {
            lines.Write(buffer, i);
            buffer.GetSpan(1)[0] = (byte)'\n';
            buffer.Advance(1);
        }
    }

    /// <summary>Writes flows <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> as objects of an open JSON array.</summary>
    public static void WriteObjects(Utf8JsonWriter json, FlowBatchEnriched batch, int start, int count)
    {
        var lines = new FlowLogLineWriter(batch);
        var line = new ArrayBufferWriter<byte>(1024);
        for (var i = start; i < start + count; i++)
        {
            line.ResetWrittenCount();
            lines.Write(line, i);
            // Built from escaped pieces, so already valid: checking it again would cost as much as writing it.
            json.WriteRawValue(line.WrittenSpan, skipInputValidation: true);
        }
    }

    /// <summary>The writer options lines are written with.</summary>
    internal static JsonWriterOptions Options => WriterOptions;

    /// <summary>A value as it appears in a line: JSON-escaped, without quotes.</summary>
    internal static ReadOnlySpan<byte> Escaped(string value) => JsonEncodedText.Encode(value, WriterOptions.Encoder).EncodedUtf8Bytes;

    internal static JsonEncodedText SourceName(FlowSource source) =>
        SourceNames.TryGetValue(source, out var name) ? name : JsonEncodedText.Encode(source.ToString());

    internal static JsonEncodedText ClassName(TrafficClass trafficClass) =>
        ClassNames.TryGetValue(trafficClass, out var name) ? name : JsonEncodedText.Encode(trafficClass.ToString());

    internal static JsonEncodedText CombinedName => Combined;

    private static Dictionary<T, JsonEncodedText> WireNames<T>()
        where T : struct, Enum =>
        Enum.GetValues<T>().ToDictionary(
            v => v,
            v => JsonEncodedText.Encode(
                typeof(T).GetField(v.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? v.ToString()));
}
