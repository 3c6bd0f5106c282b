namespace Egressd.Enricher.Enrichment;

/// <summary>A collected batch that cannot have come from a collector; no retry can enrich it.</summary>
internal sealed class InvalidBatchException(string message) : Exception(message);
