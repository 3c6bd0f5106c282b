namespace Egressd.Collector.Flows;

/// <summary>Packets and bytes one direction carried since the entry was created.</summary>
internal record struct ConntrackCounters(ulong Packets, ulong Bytes);
