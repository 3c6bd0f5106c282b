namespace Egressd.Exporter.Sinks.FlowLog;

/// <summary>
/// Opens the flow log when the exporter starts, so a torn write is repaired and a bad path is
/// reported at start, and the file exists before the first flow (for <c>tail -f</c>).
/// </summary>
internal sealed class FlowLogStartup(FlowLogSink sink) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        sink.Open();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
