using System.Runtime.InteropServices;

namespace Egressd.Shared.Wire;

/// <summary>Collects a batch's texts (names of pods, namespaces, zones, services, DNS names), each once.</summary>
internal sealed class TextTableBuilder
{
    private readonly Dictionary<string, uint> byValue = new(StringComparer.Ordinal);

    // Most texts of a batch are the same few string objects (one per pod, service or DNS answer)
    // met again and again: found by identity, they cost no hashing of their characters.
    private readonly IdentityIds<string> byReference = new();
    private readonly List<string> texts = [];

    /// <summary>The texts in the order they were first added.</summary>
    public IReadOnlyList<string> Texts => texts;

    /// <summary>The text's index + 1, or 0 for null: the wire's encoding of an optional text.</summary>
    public uint Add(string? text)
    {
        if (text is null)
        {
            return 0;
        }

        if (!byReference.TryGet(text, out var id))
        {
            ref var byText = ref CollectionsMarshal.GetValueRefOrAddDefault(byValue, text, out var known);
            if (!known)
            {
                texts.Add(text);
                byText = (uint)texts.Count;
            }

            id = byText;
            byReference.Add(text, id);
        }

        return id;
    }

    /// <summary>Empties the table for another batch, keeping its room.</summary>
    public void Clear()
    {
        byValue.Clear();
        byReference.Clear();
        texts.Clear();
    }
}
