using MassTransit;
using Microsoft.Extensions.Logging;

namespace Egressd.Shared.Bus;

/// <summary>
/// Counts and logs a message once it has been moved to a parking queue. Called only after the
/// move succeeded, so the log line names a queue the message is really in.
/// </summary>
internal sealed partial class ParkedMessages(BusMetrics metrics, ILogger logger)
{
    public void Record(ReceiveContext context, string queueSuffix, string reason, string detail)
    {
        var endpoint = EndpointName(context.InputAddress);
        var queue = endpoint + queueSuffix;
        metrics.Faulted.WithLabels(endpoint, queue, reason).Inc();
        LogParked(logger, endpoint, MessageId(context), queue, reason, detail);
    }

    internal static string EndpointName(Uri? address) =>
        address is null ? "unknown" : address.AbsolutePath.TrimEnd('/').Split('/')[^1];

    private static string MessageId(ReceiveContext context) =>
        context.TransportHeaders.Get<string>("MessageId") ?? context.GetMessageId()?.ToString() ?? "unknown";

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error,
        Message = "Endpoint {Endpoint} moved message {MessageId} to {Queue} ({Reason}: {Detail})")]
    private static partial void LogParked(ILogger logger, string endpoint, string messageId, string queue, string reason, string detail);
}
