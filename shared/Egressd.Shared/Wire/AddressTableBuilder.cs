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

    public V2.AddressTable Build()
    {
        var bytes4 = new byte[v4.Count * 4];
        for (var i = 0; i < v4.Count; i++)
        {
            v4[i].WriteBytes(bytes4.AsSpan(i * 4));
        }

        var bytes6 = new byte[v6.Count * 16];
        for (var i = 0; i < v6.Count; i++)
        {
            v6[i].WriteBytes(bytes6.AsSpan(i * 16));
        }

        return new V2.AddressTable
        {
            Ipv4 = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(bytes4),
            Ipv6 = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(bytes6),
        };
    }
}
