namespace Egressd.Exporter.Sinks.Http;

/// <summary>egressd's <c>prom_remote_write</c> sink, as its config file spells it; not used (see <see cref="SinkEntry.PromRemoteWrite"/>).</summary>
public sealed class PromRemoteWriteEntry
{
    public string? Url { get; set; }

    public Dictionary<string, string> Headers { get; set; } = [];

    public Dictionary<string, string> Labels { get; set; } = [];

    public bool SendReceivedBytesMetric { get; set; }
}
