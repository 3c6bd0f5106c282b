namespace Egressd.Shared.Bus;

/// <summary>What carries messages between the services (<c>Egressd:Bus:Transport</c>).</summary>
public enum BusTransport
{
    /// <summary>Everything in one process (<c>inmemory</c>, the default).</summary>
    InMemory,

    /// <summary>A RabbitMQ broker (<c>rabbitmq</c>).</summary>
    RabbitMq,
}
