namespace Egressd.Contracts;

/// <summary>
/// Deterministic identity of one part of one collector window. A retried publish reuses it, the
/// enricher keeps it, and every sink drops a batch whose id it has already applied.
/// </summary>
public sealed record BatchId
{
    /// <summary>Kubernetes node name of the collector that read the window.</summary>
    public required string Node { get; init; }

    /// <summary>Random id chosen once per collector process start; window sequences restart with it.</summary>
    public required string BootId { get; init; }

    /// <summary>Window sequence number within the boot, starting at 1.</summary>
    public required long Window { get; init; }

    /// <summary>Zero-based index of this part within the window.</summary>
    public required int Part { get; init; }

    /// <summary>Number of parts the window was cut into (at least 1).</summary>
    public required int PartCount { get; init; }

    public override string ToString() => $"{Node}/{BootId}/{Window}/{Part + 1}-of-{PartCount}";
}
