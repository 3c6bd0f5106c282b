namespace Egressd.Exporter;

/// <summary>Settings under <c>Egressd:Exporter</c>.</summary>
public sealed class ExporterOptions
{
    public const string Section = "Egressd:Exporter";

    /// <summary>How many recently applied batch ids each sink remembers to drop redeliveries.</summary>
    public int DedupWindow { get; set; } = 100_000;

}
