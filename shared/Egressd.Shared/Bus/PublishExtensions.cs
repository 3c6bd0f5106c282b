using Egressd.Contracts;
using Egressd.Shared.Wire;
using MassTransit;

namespace Egressd.Shared.Bus;

public static class PublishExtensions
{
    /// <summary>
    /// Publishes one batch part and returns only once the broker has taken it: publisher confirms
    /// and the mandatory flag make an unconfirmed or unroutable publish throw, and
    /// <paramref name="timeout"/> bounds the wait. The message id is derived from the batch id, so
    /// a retry after a failure carries the same id and sinks can drop the copy. The body is
    /// egressd's dense wire (<see cref="FlowWire"/>).
    /// </summary>
    public static async Task PublishBatchAsync<T>(this IPublishEndpoint endpoint, T message, BatchId id, TimeSpan timeout, CancellationToken cancellationToken)
        where T : class
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        var messageId = id.ToMessageId();
        try
        {
            await endpoint.Publish(message, context =>
            {
                context.Serializer = FlowWireSerializer.Instance;
                context.MessageId = messageId;
                context.Mandatory = true;
                // Keyed by node, so a consistent-hash exchange (the Prometheus sink's shards)
                // sends every batch of one node to the same shard; fanout exchanges ignore it.
                context.TrySetRoutingKey(id.Node);
            }, timeoutSource.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The broker did not confirm batch {id} within {timeout}.");
        }
    }
}
