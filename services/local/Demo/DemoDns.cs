using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Egressd.Local.Demo;

/// <summary>
/// The smallest DNS client the demo needs: one A question, the first A record of the answer
/// (after any CNAMEs). The pods of the demo have no resolver of their own, and the answer must
/// cross the watched node, where egressd's DNS capture reads it.
/// </summary>
internal static class DemoDns
{
    public static byte[] Query(string name, ushort id)
    {
        var packet = new List<byte>(64);
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(header, id);
        header[2] = 0x01; // recursion desired
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], 1); // one question
        packet.AddRange(header.ToArray());
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            packet.Add((byte)label.Length);
            packet.AddRange(Encoding.ASCII.GetBytes(label));
        }

        packet.AddRange(new byte[] { 0, 0, 1, 0, 1 }); // root, type A, class IN
        return [.. packet];
    }

    /// <summary>The first A record of a response to <paramref name="id"/>, or null.</summary>
    public static IPAddress? FirstAddress(ReadOnlySpan<byte> response, ushort id)
    {
        if (response.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(response) != id)
        {
            return null;
        }

        var questions = BinaryPrimitives.ReadUInt16BigEndian(response[4..]);
        var answers = BinaryPrimitives.ReadUInt16BigEndian(response[6..]);
        var at = 12;
        for (var i = 0; i < questions; i++)
        {
            at = SkipName(response, at) + 4;
        }

        for (var i = 0; i < answers && at + 10 <= response.Length; i++)
        {
            at = SkipName(response, at);
            var type = BinaryPrimitives.ReadUInt16BigEndian(response[at..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(response[(at + 8)..]);
            at += 10;
            if (type == 1 && length == 4 && at + 4 <= response.Length)
            {
                return new IPAddress(response.Slice(at, 4));
            }

            at += length;
        }

        return null;
    }

    private static int SkipName(ReadOnlySpan<byte> message, int at)
    {
        while (at < message.Length)
        {
            var length = message[at];
            if (length == 0)
            {
                return at + 1;
            }

            if ((length & 0xC0) == 0xC0)
            {
                return at + 2;
            }

            at += length + 1;
        }

        return message.Length;
    }
}
