namespace Egressd.Shared.Bus;

/// <summary>The names <c>Egressd:Bus:Transport</c> accepts.</summary>
public static class BusTransportNames
{
    public const string InMemory = "inmemory";
    public const string RabbitMq = "rabbitmq";

    /// <summary>
    /// The transport a configured name means, in any case; null for anything else, numbers
    /// included (the binder would take "7" as an undefined enum value).
    /// </summary>
    public static BusTransport? Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or InMemory => BusTransport.InMemory,
        RabbitMq => BusTransport.RabbitMq,
        _ => null,
    };

    /// <summary>The one-line error for a value that names no transport.</summary>
    public static string Error(string? value) =>
        $"Egressd:Bus:Transport must be '{InMemory}' or '{RabbitMq}' (got '{value}')";

    public static string Name(BusTransport transport) => transport == BusTransport.RabbitMq ? RabbitMq : InMemory;
}
