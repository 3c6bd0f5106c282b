namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>Reads series out of the store, a chunk at a time.</summary>
internal interface ISeriesVisitor
{
    /// <summary>Takes one series; false when it has no room for it (it is offered again next chunk).</summary>
    bool Visit(FlowSeriesStore.SeriesView series);
}
