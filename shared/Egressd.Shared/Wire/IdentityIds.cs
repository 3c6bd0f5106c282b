using System.Runtime.CompilerServices;

namespace Egressd.Shared.Wire;

/// <summary>
/// Ids of objects by identity, for a batch's shared objects (the enricher's endpoints, the encoder's
/// texts), met once or twice per flow. An open-addressing table on the runtime's identity hash: a
/// <see cref="Dictionary{TKey,TValue}"/> with <see cref="ReferenceEqualityComparer"/> reaches its
/// comparer through an interface call on every probe, which made it the largest cost of encoding a batch.
/// </summary>
public sealed class IdentityIds<T>
    where T : class
{
    private T?[] keys = new T?[64];
    private uint[] ids = new uint[64];

    public int Count { get; private set; }

    /// <summary>The object's id, or false when it has none yet.</summary>
    public bool TryGet(T key, out uint id)
    {
        var mask = keys.Length - 1;
        for (var slot = RuntimeHelpers.GetHashCode(key) & mask; ; slot = (slot + 1) & mask)
        {
            var found = keys[slot];
            if (ReferenceEquals(found, key))
            {
                id = ids[slot];
                return true;
            }

            if (found is null)
            {
                id = 0;
                return false;
            }
        }
    }

    /// <summary>Gives an object that has no id yet its id.</summary>
    public void Add(T key, uint id)
    {
        if ((Count + 1) * 2 > keys.Length)
        {
            Grow();
        }

        Place(key, id);
        Count++;
    }

    /// <summary>Forgets every object, keeping the room.</summary>
    public void Clear()
    {
        if (Count > 0)
        {
            Array.Clear(keys);
            Count = 0;
        }
    }

    private void Place(T key, uint id)
    {
        var mask = keys.Length - 1;
        var slot = RuntimeHelpers.GetHashCode(key) & mask;
        while (keys[slot] is not null)
        {
            slot = (slot + 1) & mask;
        }

        keys[slot] = key;
        ids[slot] = id;
    }

    private void Grow()
    {
        var (oldKeys, oldIds) = (keys, ids);
        keys = new T?[oldKeys.Length * 2];
        ids = new uint[oldKeys.Length * 2];
        for (var i = 0; i < oldKeys.Length; i++)
        {
            if (oldKeys[i] is { } key)
            {
                Place(key, oldIds[i]);
            }
        }
    }
}
