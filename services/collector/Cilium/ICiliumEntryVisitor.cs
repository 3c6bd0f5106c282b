namespace Egressd.Collector.Cilium;

/// <summary>Receives the raw key and value of each entry a map read yields.</summary>
internal interface ICiliumEntryVisitor
{
    void OnEntry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);
}
