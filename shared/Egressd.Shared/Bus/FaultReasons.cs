namespace Egressd.Shared.Bus;

/// <summary>The <c>reason</c> label of <see cref="BusMetrics.Faulted"/>: why a message was parked.</summary>
public static class FaultReasons
{
    /// <summary>The body could not be read as a message (bad JSON, a broken envelope).</summary>
    public const string Malformed = "malformed";

    /// <summary>The body was larger than <c>Egressd:Bus:MaxMessageBytes</c>; refused before it was read.</summary>
    public const string TooLarge = "too-large";

    /// <summary>A batch with more flows than the consumer's per-batch cap.</summary>
    public const string TooManyFlows = "too-many-flows";

    /// <summary>A message that was read but can never be processed (<see cref="InvalidMessageException"/>).</summary>
    public const string Invalid = "invalid";

    /// <summary>The consumer kept failing after its retries.</summary>
    public const string ConsumerFailed = "consumer-failed";

    /// <summary>A message type no consumer on the endpoint handles (to <c>_skipped</c>).</summary>
    public const string UnknownType = "unknown-type";

    /// <summary>Delivered and not acknowledged too often, as when it keeps killing its consumer (to <c>_dead</c>).</summary>
    public const string DeliveryLimit = "delivery-limit";

    /// <summary>A sink's destination refused the batch for good (an HTTP sink's 4xx or redirect).</summary>
    public const string Rejected = "rejected";

    /// <summary>A sink's destination kept failing for longer than the sink retries (an HTTP sink's <c>retry:maxTime</c>).</summary>
    public const string Undeliverable = "undeliverable";
}
