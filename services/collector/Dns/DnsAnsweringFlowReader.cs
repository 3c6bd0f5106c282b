using Egressd.Collector.Flows;
using Egressd.Contracts;

namespace Egressd.Collector.Dns;

/// <summary>
/// Wraps the flow reader so that every read, on the thread that owns <see cref="PendingFlows"/>,
/// also moves the DNS answers captured since the last one into the pending window. The window
/// publisher and the reducer do not change: answers arrive through the same pending set as
/// replayed ones always have.
/// </summary>
internal sealed class DnsAnsweringFlowReader(IFlowReader inner, DnsAnswerInbox inbox, PendingFlows pending) : IFlowReader, IDisposable
{
    public FlowSource Source => inner.Source;

    public IWindowCheckpoint? Checkpoint => inner.Checkpoint;

    public FlowCounterDirections CounterDirections => inner.CounterDirections;

    public async ValueTask ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            await inner.ReadAsync(cancellationToken);
        }
        finally
        {
            inbox.DrainInto(pending);
        }
    }

    public int ReadEnded(bool last) => inner.ReadEnded(last);

    public void Dispose() => (inner as IDisposable)?.Dispose();
}
