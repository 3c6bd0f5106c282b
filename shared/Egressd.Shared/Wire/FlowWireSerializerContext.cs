using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using MassTransit;
using MassTransit.Serialization;

namespace Egressd.Shared.Wire;

/// <summary>A received batch, read once; MassTransit asks it for the message by type.</summary>
internal sealed class FlowWireSerializerContext(MessageContext context, string[] messageTypes, object message)
    : BaseSerializerContext(SystemTextJsonMessageSerializer.Instance, context, messageTypes)
{
    public override bool IsSupportedMessageType<T>() => message is T;

    public override bool IsSupportedMessageType(Type messageType) => messageType.IsInstanceOfType(message);

    public override bool TryGetMessage<T>(out T? result)
        where T : class
    {
        result = message as T;
        return result is not null;
    }

    public override bool TryGetMessage(Type messageType, [NotNullWhen(true)] out object? result)
    {
        result = messageType.IsInstanceOfType(message) ? message : null;
        return result is not null;
    }

    // Forwarded or redelivered copies are written in the same format.
    public override IMessageSerializer GetMessageSerializer() => FlowWireSerializer.Instance;

    public override IMessageSerializer GetMessageSerializer<T>(MessageEnvelope envelope, T message) => FlowWireSerializer.Instance;

    public override IMessageSerializer GetMessageSerializer(object message, string[] messageTypes) => FlowWireSerializer.Instance;

    public override Dictionary<string, object> ToDictionary<T>(T? message)
        where T : class =>
        message is null
            ? new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase)
            : JsonSerializer.Deserialize<Dictionary<string, object>>(JsonSerializer.SerializeToUtf8Bytes(message, SystemTextJsonMessageSerializer.Options), SystemTextJsonMessageSerializer.Options)
                ?? new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
}
