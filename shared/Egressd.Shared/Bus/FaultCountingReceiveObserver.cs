using MassTransit;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Egressd.Shared.Bus;

/// <summary>Counts messages an endpoint could not handle (they go to its <c>_error</c> queue).</summary>
public sealed class BusFaultMetrics
{
    private readonly Counter faulted = Metrics.CreateCounter(
        "egressd_bus_messages_faulted_total",
        "Messages that could not be consumed (bad body, unknown type or a consumer that failed after its retries) and were moved to the endpoint's _error queue.",
        "endpoint");

    public void CountFault(string endpoint) => faulted.WithLabels(endpoint).Inc();

    public double Value(string endpoint) => faulted.WithLabels(endpoint).Value;
}

internal sealed partial class FaultCountingReceiveObserver(BusFaultMetrics metrics, ILogger<FaultCountingReceiveObserver> logger) : IReceiveObserver
{
    public Task PreReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType)
        where T : class => Task.CompletedTask;

    // Retries call this once per attempt; the final outcome is reported by ReceiveFault.
    public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception)
        where T : class => Task.CompletedTask;

    public Task ReceiveFault(ReceiveContext context, Exception exception)
    {
        var endpoint = EndpointName(context.InputAddress);
        metrics.CountFault(endpoint);
        var messageId = context.TransportHeaders.Get<string>("MessageId") ?? context.GetMessageId()?.ToString() ?? "unknown";
        LogReceiveFault(logger, endpoint, messageId, exception.GetType().Name, exception.Message);
        return Task.CompletedTask;
    }

    internal static string EndpointName(Uri? address) =>
        address is null ? "unknown" : address.AbsolutePath.TrimEnd('/').Split('/')[^1];

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error,
        Message = "Endpoint {Endpoint} could not consume message {MessageId} ({ExceptionType}: {Reason}); it was moved to the endpoint's _error queue")]
    private static partial void LogReceiveFault(ILogger logger, string endpoint, string messageId, string exceptionType, string reason);
}
