namespace Egressd.Shared.Bus;

/// <summary>Naming rules for receive endpoints that every service's bus setup shares.</summary>
public static class BusEndpoints
{
    /// <summary>
    /// Queues named so belong to one process and are deleted with its connection (heartbeats,
    /// replies): they get none of the durable queues' settings (quorum type, delivery limit,
    /// dead-letter queue), which would outlive them or which RabbitMQ refuses for them.
    /// </summary>
    public const string TemporaryPrefix = "egressd-temp-";
}
