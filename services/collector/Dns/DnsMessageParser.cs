using System.Buffers.Binary;
using Egressd.Contracts;

namespace Egressd.Collector.Dns;

/// <summary>
/// Reads the A, AAAA and CNAME records of a DNS response's answer section (RFC 1035 §4.1), with
/// name compression. Hand-written rather than ARSoft.Tools.Net's <c>DnsMessage.Parse</c>, which
/// builds every record of every section as objects: on the same packets this parser is several
/// times faster and allocates only the names it returns (docs/BENCHMARKS.md). Every read is
/// bounds-checked, and a compression pointer must point before every place the name has been
/// read from, so a looping or forward pointer ends the name instead of the process: no input
/// makes it throw or spin.
/// </summary>
internal static class DnsMessageParser
{
    /// <summary>Records kept per message; a real answer has a handful, a hostile one thousands.</summary>
    public const int MaxRecords = 64;

    private const int HeaderLength = 12;
    private const int MaxNameChars = 253;
    private const ushort ClassInternet = 1;

    /// <summary>
    /// Parses one message. <paramref name="answers"/> is cleared and filled; <paramref name="question"/>
    /// is the first question's name when there is one.
    /// </summary>
    public static DnsParseResult Parse(ReadOnlySpan<byte> message, List<DnsAnswerRecord> answers, out string? question)
    {
        answers.Clear();
        question = null;
        if (message.Length < HeaderLength)
        {
            return DnsParseResult.Truncated;
        }

        var flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        // Only responses (QR) to standard queries (opcode 0) that succeeded (rcode 0) name anything.
        if ((flags & 0x8000) == 0 || (flags & 0x7800) != 0 || (flags & 0x000F) != 0)
        {
            return DnsParseResult.NoAnswers;
        }

        int questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        int answerCount = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        var at = HeaderLength;
        Span<char> name = stackalloc char[MaxNameChars + 1];
        for (var i = 0; i < questions; i++)
        {
            var read = ReadName(message, ref at, name, out var length);
            if (read != DnsParseResult.Answered)
            {
                return read;
            }

            if (at + 4 > message.Length)
            {
                return DnsParseResult.Truncated;
            }

            if (i == 0)
            {
                question = new string(name[..length]);
            }

            at += 4;
        }

        for (var i = 0; i < answerCount && answers.Count < MaxRecords; i++)
        {
            var read = ReadName(message, ref at, name, out var length);
            if (read != DnsParseResult.Answered)
            {
                return read;
            }

            if (at + 10 > message.Length)
            {
                return DnsParseResult.Truncated;
            }

            var type = BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
            var @class = BinaryPrimitives.ReadUInt16BigEndian(message[(at + 2)..]);
            var ttl = BinaryPrimitives.ReadUInt32BigEndian(message[(at + 4)..]);
            int dataLength = BinaryPrimitives.ReadUInt16BigEndian(message[(at + 8)..]);
            at += 10;
            if (at + dataLength > message.Length)
            {
                return DnsParseResult.Truncated;
            }

            // RFC 2181 §8: a TTL with the top bit set is read as zero.
            if (ttl > int.MaxValue)
            {
                ttl = 0;
            }

            if (@class == ClassInternet)
            {
                switch (type)
                {
                    case DnsRecordType.A when dataLength != 4:
                    case DnsRecordType.Aaaa when dataLength != 16:
                        return DnsParseResult.BadRecord;
                    case DnsRecordType.A:
                        answers.Add(new DnsAnswerRecord(new string(name[..length]), ttl, IpAddr.FromV4(message.Slice(at, 4)), null));
                        break;
                    case DnsRecordType.Aaaa:
                        answers.Add(new DnsAnswerRecord(new string(name[..length]), ttl, IpAddr.FromV6(message.Slice(at, 16)), null));
                        break;
                    case DnsRecordType.Cname:
                        var owner = new string(name[..length]);
                        var targetAt = at;
                        var target = ReadName(message, ref targetAt, name, out length);
                        if (target != DnsParseResult.Answered)
                        {
                            return target;
                        }

                        if (targetAt != at + dataLength)
                        {
                            return DnsParseResult.BadRecord;
                        }

                        answers.Add(new DnsAnswerRecord(owner, ttl, IpAddr.None, new string(name[..length])));
                        break;
                }
            }

            at += dataLength;
        }

        return answers.Count > 0 ? DnsParseResult.Answered : DnsParseResult.NoAnswers;
    }

    /// <summary>
    /// Reads the name at <paramref name="at"/> into <paramref name="name"/> in lower case, without
    /// the trailing dot, and moves <paramref name="at"/> past it (past the first pointer when it
    /// is compressed). Returns <see cref="DnsParseResult.Answered"/> when the name was whole.
    /// </summary>
    private static DnsParseResult ReadName(ReadOnlySpan<byte> message, ref int at, Span<char> name, out int length)
    {
        length = 0;
        var position = at;
        var resumeAt = -1;
        // Every pointer must go below this: positions only ever fall, so reading ends.
        var lowest = at;
        while (true)
        {
            if (position >= message.Length)
            {
                return DnsParseResult.Truncated;
            }

            int label = message[position];
            if (label == 0)
            {
                position++;
                break;
            }

            switch (label & 0xC0)
            {
                case 0xC0:
                    if (position + 1 >= message.Length)
                    {
                        return DnsParseResult.Truncated;
                    }

                    var target = ((label & 0x3F) << 8) | message[position + 1];
                    if (target >= lowest)
                    {
                        return DnsParseResult.BadName;
                    }

                    if (resumeAt < 0)
                    {
                        resumeAt = position + 2;
                    }

                    lowest = target;
                    position = target;
                    continue;
                case 0:
                    if (position + 1 + label > message.Length)
                    {
                        return DnsParseResult.Truncated;
                    }

                    if (length + label + (length > 0 ? 1 : 0) > MaxNameChars)
                    {
                        return DnsParseResult.BadName;
                    }

                    if (length > 0)
                    {
                        name[length++] = '.';
                    }

                    foreach (var b in message.Slice(position + 1, label))
                    {
                        // Printable ASCII only: a name goes into logs, labels and JSON as text.
                        if (b is < 0x21 or > 0x7E)
                        {
                            return DnsParseResult.BadName;
                        }

                        name[length++] = b is >= (byte)'A' and <= (byte)'Z' ? (char)(b + 32) : (char)b;
                    }

                    position += 1 + label;
                    break;
                default:
                    // 0x40 and 0x80: extended and reserved label types, obsolete or never assigned.
                    return DnsParseResult.BadName;
            }
        }

        at = resumeAt >= 0 ? resumeAt : position;
        return DnsParseResult.Answered;
    }
}
