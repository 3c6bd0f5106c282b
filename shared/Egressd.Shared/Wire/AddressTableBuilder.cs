using System.Runtime.InteropServices;
using Egressd.Contracts;

namespace Egressd.Shared.Wire;

/// <summary>
/// Collects a batch's addresses, each once, for <see cref="V2.AddressTable"/>. IPv4 addresses
/// come first in the table, but how many there are is known only at the end, so
/// <see cref="Add"/> hands out a provisional id (IPv4: its place among IPv4 addresses; IPv6: the
/// complement of its place among IPv6 ones) that <see cref="Index"/> turns into the table index.
/// </summary>
internal sealed class AddressTableBuilder
{
    private readonly Dictionary<IpAddr, int> ids = [];
    private readonly List<IpAddr> v4 = [];
    private readonly List<IpAddr> v6 = [];
    private byte[] scratch = [];

    public int Add(IpAddr address)
    {
        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(ids, address, out var known);
        if (!known)
        {
            if (address.IsV4)
            {
                id = v4.Count;
                v4.Add(address);
            }
            else
            {
                id = ~v6.Count;
                v6.Add(address);
            }
        }

        return id;
    }

    /// <summary>Empties the builder for another batch, keeping its room.</summary>
    public void Clear()
    {
        ids.Clear();
        v4.Clear();
        v6.Clear();
    }

    /// <summary>The table index of a provisional id from <see cref="Add"/>.</summary>
    public uint Index(int id) => id >= 0 ? (uint)id : (uint)(v4.Count + ~id);

    /// <summary>Writes the table (<c>AddressTable</c>: IPv4 bytes, then IPv6 bytes) into <paramref name="table"/>.</summary>
    public void WriteTo(ProtoBuffer table)
    {
        WriteBytes(table, 1, v4, 4);
        WriteBytes(table, 2, v6, 16);
    }

    private void WriteBytes(ProtoBuffer table, int field, List<IpAddr> family, int size)
    {
        var length = family.Count * size;
        if (scratch.Length < length)
        {
            scratch = new byte[Math.Max(length, scratch.Length * 2)];
        }

        for (var i = 0; i < family.Count; i++)
        {
            family[i].WriteBytes(scratch.AsSpan(i * size));
        }

        table.BytesField(field, scratch.AsSpan(0, length));
    }
}
