using System.Net.Mime;
using MassTransit;

namespace Egressd.Shared.Wire;

/// <summary>Registers <see cref="FlowWireSerializer"/> with a bus for its content type.</summary>
public sealed class FlowWireSerializerFactory : ISerializerFactory
{
    public static readonly FlowWireSerializerFactory Instance = new();

    public ContentType ContentType => FlowWire.ContentType;

    public IMessageSerializer CreateSerializer() => FlowWireSerializer.Instance;

    public IMessageDeserializer CreateDeserializer() => FlowWireSerializer.Instance;
}
