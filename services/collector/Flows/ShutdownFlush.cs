namespace Egressd.Collector.Flows;

/// <summary>
/// What the shutdown cycle did: flow keys confirmed and left unconfirmed, and the connections heard
/// ending after the final read (with the bytes of their last deltas) that went into its last windows.
/// </summary>
internal readonly record struct ShutdownFlush(int Sent, int Unsent, int EndedConnections, ulong EndedBytes);
