namespace Egressd.Shared.Cost;

/// <summary>Equality-based node labels, written <c>key=value,key=value</c>: a node matches when it has all of them.</summary>
internal sealed class NodeSelector
{
    private readonly (string Key, string Value)[] terms;

    private NodeSelector((string Key, string Value)[] terms) => this.terms = terms;

    public static NodeSelector Empty { get; } = new([]);

    public bool IsEmpty => terms.Length == 0;

    public static bool TryParse(string? text, out NodeSelector selector)
    {
        selector = Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        var parsed = new List<(string, string)>();
        foreach (var term in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var equals = term.IndexOf('=');
            if (equals <= 0 || term.IndexOf('=', equals + 1) >= 0)
            {
                return false;
            }

            parsed.Add((term[..equals].Trim(), term[(equals + 1)..].Trim()));
        }

        selector = new NodeSelector([.. parsed]);
        return true;
    }

    public bool Matches(IReadOnlyDictionary<string, string>? labels) =>
        !IsEmpty && labels is not null && terms.All(t => labels.TryGetValue(t.Key, out var value) && value == t.Value);
}
