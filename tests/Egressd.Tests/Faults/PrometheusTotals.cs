namespace Egressd.Tests.Faults;

/// <summary>The flow counters of one exporter's exposition, summed over every series, when <paramref name="Nodes"/> collectors had been started.</summary>
internal sealed record PrometheusTotals(double TxBytes, double RxBytes, double TxPackets, double RxPackets, int Nodes);
