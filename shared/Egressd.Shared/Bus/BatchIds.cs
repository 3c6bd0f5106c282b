using System.Security.Cryptography;
using System.Text;
using Egressd.Contracts;

namespace Egressd.Shared.Bus;

public static class BatchIds
{
    // A fixed namespace so the same batch id always maps to the same message id (RFC 9562).
    private static readonly Guid Namespace = new("3f0c7d1e-6a8b-4c5e-9d2f-1b7a0e4c9a61");

    /// <summary>
    /// The MassTransit message id of a batch part: a name-based UUID (version 8, SHA-256, RFC 9562 appendix B.2) of its batch id, so
    /// a retried publish, a redelivery and the enriched copy all carry the same message id.
    /// </summary>
    public static Guid ToMessageId(this BatchId id)
    {
        var name = Encoding.UTF8.GetBytes(id.ToString());
        Span<byte> input = stackalloc byte[16 + name.Length];
        Namespace.TryWriteBytes(input[..16], bigEndian: true, out _);
        name.CopyTo(input[16..]);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
