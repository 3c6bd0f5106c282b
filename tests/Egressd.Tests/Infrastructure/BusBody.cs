using System.Text.Json;
using System.Text.Json.Nodes;
using Egressd.Contracts;
using Egressd.Shared.Wire;
using MassTransit.Serialization;
using RabbitMQ.Client;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// A batch read straight off a test's own queue, in whichever format it was published: egressd's
/// wire v2, or MassTransit's JSON envelope (as the first release, and raw test publishes, write).
/// </summary>
internal static class BusBody
{
    public static FlowBatchCollected Collected(BasicGetResult message) =>
        IsWire(message) ? FlowWire.DecodeCollected(message.Body.Span) : FromEnvelope<FlowBatchCollected>(message);

    public static FlowBatchEnriched Enriched(BasicGetResult message) =>
        IsWire(message) ? FlowWire.DecodeEnriched(message.Body.Span) : FromEnvelope<FlowBatchEnriched>(message);

    /// <summary>A batch as text, to compare two copies of one message id.</summary>
    public static string Canonical<T>(T batch) => JsonSerializer.Serialize(batch, SystemTextJsonMessageSerializer.Options);

    private static bool IsWire(BasicGetResult message) =>
        string.Equals(message.BasicProperties.ContentType, FlowWire.ContentType.MediaType, StringComparison.OrdinalIgnoreCase);

    private static T FromEnvelope<T>(BasicGetResult message) =>
        JsonNode.Parse(message.Body.Span)!["message"].Deserialize<T>(SystemTextJsonMessageSerializer.Options)!;
}
