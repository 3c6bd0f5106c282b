namespace Egressd.Collector.Flows;

/// <summary>One entry's counters as of the read a checkpoint was taken at, under its fingerprint.</summary>
internal readonly record struct CheckpointEntry(ulong Key, ConntrackCounters Original, ConntrackCounters Reply);
