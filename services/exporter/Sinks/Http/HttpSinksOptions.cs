namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// The HTTP sinks, as egressd's exporter config reads them: a <c>sinks:</c> map under
/// <c>Egressd:Exporter</c>, each named sink with an <c>http:</c> section. The YAML file named by
/// <c>Egressd:Exporter:ConfigFile</c> lands here, and the same keys work as environment variables
/// (<c>Egressd__Exporter__Sinks__castai__http__url</c>).
/// </summary>
public sealed class HttpSinksOptions
{
    public const string Section = "Egressd:Exporter";

    /// <summary>Named sinks; each <c>http</c> one gets a queue of its own.</summary>
    public Dictionary<string, SinkEntry> Sinks { get; set; } = new(StringComparer.Ordinal);

    /// <summary>egressd's <c>exportInterval</c>: the interval of every HTTP sink that sets none (Go form <c>1m0s</c> or <c>hh:mm:ss</c>).</summary>
    public string? ExportInterval { get; set; }

    /// <summary>The configured HTTP sinks' names, in the order their endpoints are made (ordinal).</summary>
    public IReadOnlyList<string> HttpSinkNames() =>
        [.. Sinks.Where(s => s.Value.Http is not null).Select(s => s.Key).Order(StringComparer.Ordinal)];
}
