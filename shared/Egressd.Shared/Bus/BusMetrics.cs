using Prometheus;

namespace Egressd.Shared.Bus;

/// <summary>What the bus wiring counts for every service.</summary>
public sealed class BusMetrics(IMetricFactory metrics)
{
    /// <summary>
    /// Incremented only after a message was actually moved to a parking queue: a message that goes
    /// back to its own queue (a consume cancelled because the broker went away) is not a fault.
    /// </summary>
    public Counter Faulted { get; } = metrics.CreateCounter(
        "egressd_bus_messages_faulted_total",
        "Messages moved out of an endpoint's queue into a parking queue: _error (malformed, too large, refused, or failed after retries), _skipped (a message type nobody here consumes) or _dead (the delivery limit reached).",
        ["endpoint", "queue", "reason"]);
}
