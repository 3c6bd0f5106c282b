using Prometheus;

namespace Egressd.Shared.Bus;

/// <summary>What the bus wiring counts for every service.</summary>
public static class BusMetrics
{
    public static readonly Counter Faulted = Metrics.CreateCounter(
        "egressd_bus_messages_faulted_total",
        "Messages that could not be consumed (bad body, unknown type or a consumer that failed after its retries) and were moved to the endpoint's _error queue.",
        "endpoint");
}
