namespace Egressd.Tests.Infrastructure;

/// <summary>
/// Deletes a sink's queue and its error queue when the test ends: left bound to the enriched-batch
/// exchange, a sink's queue would take every later test's batches, including ones that rely on the
/// broker returning a batch no exporter queue takes yet.
/// </summary>
internal sealed class SinkQueueDeletedAfterwards(RabbitMqBroker broker, string queue) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        await broker.DeleteQueueAsync(queue);
        await broker.DeleteQueueAsync(queue + "_error");
    }
}
