namespace Egressd.Exporter.Sinks.Http;

/// <summary>One entry of egressd's <c>sinks:</c> map: an <c>http</c> sink, or egressd's <c>prom_remote_write</c>.</summary>
public sealed class SinkEntry
{
    public HttpSinkOptions? Http { get; set; }

    /// <summary>
    /// Read only so an egressd file with one still loads: remote write is configured under
    /// <c>Egressd:Exporter:RemoteWrite</c> (it pushes cumulative counters, not egressd's deltas).
    /// </summary>
    [ConfigurationKeyName("prom_remote_write")]
    public PromRemoteWriteEntry? PromRemoteWrite { get; set; }
}
