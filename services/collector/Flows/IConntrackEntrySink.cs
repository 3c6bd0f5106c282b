namespace Egressd.Collector.Flows;

/// <summary>Receives entries as a dump or the event listener parses them.</summary>
internal interface IConntrackEntrySink
{
    void OnEntry(in ConntrackEntry entry);
}
