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
    /// <remarks>
    /// From a consumer (<paramref name="endpoint"/> a <see cref="ConsumeContext"/>), the endpoint's
    /// in-memory outbox holds the publish and sends it with the token given here only after the
    /// consumer has returned. A timeout source disposed on return would then never fire, and a publish
    /// the client never confirms (RabbitMQ.Client can leave one waiting for good across a broker
    /// restart) would hold the consume, and with it the whole endpoint, silent, for good. So there the
    /// timeout is a timer of its own, left to fire: it releases itself when it does.
    /// </remarks>
    public static async Task PublishBatchAsync<T>(this IPublishEndpoint endpoint, T message, BatchId id, TimeSpan timeout, CancellationToken cancellationToken)
        where T : class
    {
#pragma warning disable CA2000 // The deferred publish's timer is not disposed on purpose (see remarks).
        using var linked = endpoint is ConsumeContext ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timeoutSource = linked ?? new CancellationTokenSource(timeout);
#pragma warning restore CA2000
        linked?.CancelAfter(timeout);
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
