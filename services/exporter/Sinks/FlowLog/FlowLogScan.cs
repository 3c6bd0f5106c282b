using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Egressd.Exporter.Sinks.FlowLog;

/// <summary>
/// What one flow-log file holds: the ids of the batches whose every line is there, in file order,
/// and where the file should end (before a torn last batch).
/// </summary>
/// <remarks>
/// The sink appends a batch in one write and only after the previous one finished, so only the
/// end of a file can be torn: a last line without its newline, or a last batch with fewer lines
/// than its <c>batch_lines</c> (a write cut at a line boundary). Lines that are not ours (an
/// older format, a person's edit) are kept as they are; they just name no batch.
/// </remarks>
internal sealed record FlowLogScan(IReadOnlyList<string> CompleteBatches, long Length, long KeepLength)
{
    private const int ChunkBytes = 1 << 20;

    /// <summary>Bytes after the last whole batch (or whole foreign line) that the sink cuts.</summary>
    public long TornBytes => Length - KeepLength;

    public static FlowLogScan Read(SafeFileHandle file)
    {
        var length = RandomAccess.GetLength(file);
        var complete = new List<string>();
        var buffer = new byte[ChunkBytes];
        long bufferAt = 0;   // file offset of buffer[0]
        var filled = 0;
        var start = 0;       // start of the current line within the buffer
        long keep = 0;       // end of the last line that is not part of an unfinished batch
        long runStart = -1;  // file offset of the unfinished batch's first line, if any
        string? runId = null;
        var expected = 0;

        while (true)
        {
            var newline = buffer.AsSpan(start, filled - start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var line = buffer.AsSpan(start, newline);
                var lineAt = bufferAt + start;
                var lineEnd = lineAt + newline + 1;
                start += newline + 1;
                if (!TryReadHead(line, out var id, out var index, out var count))
                {
                    // Not a line of ours: keep it, and it breaks any batch it lands in.
                    (runId, runStart, keep) = (null, -1, lineEnd);
                    continue;
                }

                if (index == 1)
                {
                    (runId, runStart, expected) = (id, lineAt, 1);
                }

                if (runId == id && index == expected)
                {
                    expected++;
                    if (index == count)
                    {
                        complete.Add(id);
                        (runId, runStart, keep) = (null, -1, lineEnd);
                    }
                }
                else
                {
                    // Out of order: not a whole batch; keep the bytes, count nothing.
                    (runId, runStart, keep) = (null, -1, lineEnd);
                }

                continue;
            }

            // No newline in what is buffered: move the partial line to the front and read more.
            if (start > 0)
            {
                buffer.AsSpan(start, filled - start).CopyTo(buffer);
                bufferAt += start;
                filled -= start;
                start = 0;
            }

            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            var read = RandomAccess.Read(file, buffer.AsSpan(filled), bufferAt + filled);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        // Whatever follows the last newline is a torn line; an unfinished batch goes with it.
        return new FlowLogScan(complete, length, runStart >= 0 ? runStart : keep);
    }

    /// <summary>Reads the first three keys a flow-log line starts with, nothing more.</summary>
    internal static bool TryReadHead(ReadOnlySpan<byte> line, out string id, out int index, out int count)
    {
        id = "";
        index = count = 0;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            if (!Next(ref reader, "batch_id"u8) || reader.TokenType != JsonTokenType.String)
            {
                return false;
            }

            id = reader.GetString()!;
            return Next(ref reader, "batch_line"u8) && reader.TryGetInt32(out index)
                && Next(ref reader, "batch_lines"u8) && reader.TryGetInt32(out count)
                && index >= 1 && index <= count;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool Next(ref Utf8JsonReader reader, ReadOnlySpan<byte> key) =>
        reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals(key) && reader.Read();
}
