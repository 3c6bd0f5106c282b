using Egressd.Contracts;
using MassTransit;

namespace Egressd.Local.View;

/// <summary>Feeds the terminal view from the enriched batches, on an endpoint of its own, as a sink would be.</summary>
internal sealed class ViewConsumer(ViewWindows windows) : IConsumer<FlowBatchEnriched>
{
    public Task Consume(ConsumeContext<FlowBatchEnriched> context)
    {
        windows.Add(context.Message);
        return Task.CompletedTask;
    }
}
