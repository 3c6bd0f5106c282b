namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>The four flow counters and what they mean; the names egressd users already query.</summary>
internal static class FlowMetrics
{
    public static readonly IReadOnlyList<(string Name, int Counter, string Help)> Families =
    [
        ("egressd_transmit_bytes_total", 0, "Bytes the source sent to the destination, since this exporter started."),
        ("egressd_received_bytes_total", 1, "Bytes the source received from the destination, since this exporter started."),
        ("egressd_transmit_packets_total", 2, "Packets the source sent to the destination, since this exporter started."),
        ("egressd_received_packets_total", 3, "Packets the source received from the destination, since this exporter started."),
    ];

    /// <summary>
    /// Flows whose source keeps one counter per connection for both directions (Cilium 1.16 and
    /// later): their totals, in families of their own, so a sum over the transmit or received
    /// families never takes a two-way total for one direction's traffic. Each series' value is its
    /// transmit plus received counters (the collector puts the total in one, zero in the other).
    /// </summary>
    public static readonly IReadOnlyList<(string Name, int Counter, string Help)> CombinedFamilies =
    [
        ("egressd_combined_bytes_total", FlowSeriesStore.CombinedBytes, "Bytes between the source and the destination in both directions together, for sources that count both directions in one counter (Cilium 1.16 and later), since this exporter started."),
        ("egressd_combined_packets_total", FlowSeriesStore.CombinedPackets, "Packets between the source and the destination in both directions together, for sources that count both directions in one counter (Cilium 1.16 and later), since this exporter started."),
    ];

    /// <summary>Every label of a flow series, sorted by name: the flow labels (by dimension) and the static ones (by value).</summary>
    public static IReadOnlyList<(string Name, int Dimension, string? Value)> Layout(
        IReadOnlyList<string> flowLabels, IEnumerable<KeyValuePair<string, string>> staticLabels) =>
        [.. flowLabels.Select((name, d) => (name, d, (string?)null))
            .Concat(staticLabels.Select(s => (s.Key, -1, (string?)s.Value)))
            .OrderBy(l => l.Item1, StringComparer.Ordinal)];
}
