using MassTransit;
using Microsoft.Extensions.Logging;

namespace Egressd.Shared.Bus;

/// <summary>Counts and logs messages an endpoint could not handle (they go to its <c>_error</c> queue).</summary>
internal sealed partial class FaultCountingReceiveObserver(ILogger<FaultCountingReceiveObserver> logger) : IReceiveObserver
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
        BusMetrics.Faulted.WithLabels(endpoint).Inc();
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
