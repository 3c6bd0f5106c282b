using System.Net.Mime;
using System.Runtime.Serialization;
using Egressd.Contracts;
using MassTransit;
using MassTransit.Serialization;

namespace Egressd.Shared.Wire;

/// <summary>
/// <see cref="FlowWire"/> as a MassTransit serializer. The body is the batch alone; what
/// MassTransit's envelope carried (message id, type) travels in transport headers, as with its
/// raw serializers. Only batches are written this way (publishers pick it per message); faults
/// and anything else keep MassTransit's JSON.
/// </summary>
public sealed class FlowWireSerializer : RawMessageSerializer, IMessageSerializer, IMessageDeserializer
{
    public static readonly FlowWireSerializer Instance = new();

    private static readonly string CollectedType = MessageUrn.ForTypeString<FlowBatchCollected>();
    private static readonly string EnrichedType = MessageUrn.ForTypeString<FlowBatchEnriched>();

    private FlowWireSerializer()
    {
    }

    public ContentType ContentType => FlowWire.ContentType;

    public void Probe(ProbeContext context) => context.CreateScope("egressd-wire").Add("contentType", ContentType.MediaType);

    public MessageBody GetMessageBody<T>(SendContext<T> context)
        where T : class
    {
        SetRawMessageHeaders(context);
        return new BytesMessageBody(context.Message switch
        {
            EncodedFlowBatch encoded => encoded.BodyBytes,
            FlowBatchCollected collected => FlowWire.Encode(collected),
            FlowBatchEnriched enriched => FlowWire.Encode(enriched),
            _ => throw new SerializationException($"The egressd wire carries flow batches only, not {typeof(T).Name}."),
        });
    }

    public ConsumeContext Deserialize(ReceiveContext receiveContext) =>
        new BodyConsumeContext(receiveContext, Deserialize(receiveContext.Body, receiveContext.TransportHeaders, receiveContext.InputAddress));

    public SerializerContext Deserialize(MessageBody body, Headers headers, Uri? destinationAddress = null)
    {
        var types = headers.GetMessageTypes();
        // Read whole, here, so a broken body is refused as malformed before any consumer sees it.
        object message = types.Contains(EnrichedType, StringComparer.OrdinalIgnoreCase)
            ? FlowWire.DecodeEnriched(body.GetBytes())
            : types.Contains(CollectedType, StringComparer.OrdinalIgnoreCase)
                ? FlowWire.DecodeCollected(body.GetBytes())
                : throw new SerializationException($"An egressd wire body must be a flow batch; its message type header says {string.Join(";", types)}.");
        var context = new RawMessageContext(headers, destinationAddress, RawSerializerOptions.AddTransportHeaders | RawSerializerOptions.CopyHeaders);
        return new FlowWireSerializerContext(context, types, message);
    }

    public MessageBody GetMessageBody(string text) => new StringMessageBody(text);
}
