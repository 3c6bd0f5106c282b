using System.Runtime.InteropServices;
using Google.Protobuf.Collections;

namespace Egressd.Shared.Wire;

/// <summary>Collects a batch's texts (names of pods, namespaces, zones, services, DNS names), each once.</summary>
internal sealed class TextTableBuilder(RepeatedField<string> texts)
{
    private readonly Dictionary<string, uint> ids = new(StringComparer.Ordinal);

    /// <summary>The text's index + 1, or 0 for null: the wire's encoding of an optional text.</summary>
    public uint Add(string? text)
    {
        if (text is null)
        {
            return 0;
        }

        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(ids, text, out var known);
        if (!known)
        {
            texts.Add(text);
            id = (uint)texts.Count;
        }

        return id;
    }
}
