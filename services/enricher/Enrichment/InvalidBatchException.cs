using Egressd.Shared.Bus;

namespace Egressd.Enricher.Enrichment;

/// <summary>A collected batch that cannot have come from a collector; no retry can enrich it.</summary>
/// <param name="reason">The fault metric's reason label, one of <see cref="FaultReasons"/>.</param>
internal sealed class InvalidBatchException(string message, string reason = FaultReasons.Invalid) : Exception(message)
{
    public string Reason { get; } = reason;
}
