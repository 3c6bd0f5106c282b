using System.Text.Json;
using Egressd.Contracts;
using Egressd.Shared.Wire;
using MassTransit.Serialization;
using RabbitMQ.Client;

namespace Egressd.Tests.Infrastructure;

/// <summary>A batch read straight off a test's own queue: egressd's wire, which every batch is published in.</summary>
internal static class BusBody
{
    public static FlowBatchCollected Collected(BasicGetResult message) => FlowWire.DecodeCollected(Body(message));

    public static FlowBatchEnriched Enriched(BasicGetResult message) => FlowWire.DecodeEnriched(Body(message));

    /// <summary>A batch as text, to compare two copies of one message id.</summary>
    public static string Canonical<T>(T batch) => JsonSerializer.Serialize(batch, SystemTextJsonMessageSerializer.Options);

    private static ReadOnlySpan<byte> Body(BasicGetResult message)
    {
        Assert.Equal(FlowWire.ContentType.MediaType, message.BasicProperties.ContentType);
        return message.Body.Span;
    }
}
