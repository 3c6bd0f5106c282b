namespace Egressd.Exporter;

/// <summary>Settings under <c>Egressd:Exporter</c>.</summary>
public sealed class ExporterOptions
{
    public const string Section = "Egressd:Exporter";

    /// <summary>How many recently applied batch ids each sink remembers to drop redeliveries.</summary>
    public int DedupWindow { get; set; } = 100_000;

    /// <summary>A batch with more flows is refused (to the sink's <c>_error</c> queue): no enricher sends one.</summary>
    public int MaxFlowsPerBatch { get; set; } = 100_000;

    /// <summary>egressd's exporter config file (YAML, its <c>sinks:</c> map), read under <c>Egressd:Exporter</c>.</summary>
    public string? ConfigFile { get; set; }
}
