namespace Egressd.Enricher.Cluster;

internal static class Addresses
{
    /// <summary>The canonical text of an address (as the collector writes it), or null when it is not one.</summary>
    public static string? Canonical(string? text) =>
        System.Net.IPAddress.TryParse(text, out var address) ? address.ToString() : null;

    public static IReadOnlyList<string> Canonical(IEnumerable<string?>? texts) =>
        texts is null ? [] : [.. texts.Select(Canonical).OfType<string>().Distinct()];
}
