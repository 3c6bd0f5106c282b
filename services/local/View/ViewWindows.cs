using Egressd.Contracts;

namespace Egressd.Local.View;

/// <summary>
/// The latest window the sinks were given, summed per (source, destination, class) across its
/// parts, ready for the view to draw. Thread-safe: the bus adds, the view reads.
/// </summary>
public sealed class ViewWindows(int topFlows)
{
    private readonly Lock gate = new();
    private readonly Dictionary<(string Source, string Destination, string Class), (ulong Bytes, long Picodollars)> bytes = [];
    private (string Node, DateTimeOffset End)? current;
    private DateTimeOffset start;
    private ViewWindow? latest;
    private int sequence;

    /// <summary>The latest window, or null before the first.</summary>
    public ViewWindow? Latest
    {
        get
        {
            lock (gate)
            {
                return latest;
            }
        }
    }

    /// <summary>Flows seen since the start, in every window.</summary>
    public long FlowsSeen { get; private set; }

    public void Add(FlowBatchEnriched batch)
    {
        lock (gate)
        {
            if (current != (batch.Header.Node, batch.Header.WindowEnd))
            {
                current = (batch.Header.Node, batch.Header.WindowEnd);
                start = batch.Header.WindowStart;
                bytes.Clear();
                sequence++;
            }

            foreach (var flow in batch.Flows)
            {
                var key = (SourceOf(flow, batch.Endpoints[flow.SourceEndpoint]), DestinationOf(flow, batch.Endpoints[flow.DestinationEndpoint]), ClassOf(flow.TrafficClass));
                var (sum, cost) = bytes.GetValueOrDefault(key);
                bytes[key] = (sum + flow.Flow.TxBytes + flow.Flow.RxBytes, cost + flow.Cost.Total);
            }

            FlowsSeen += batch.Flows.Count;
            var seconds = Math.Max((batch.Header.WindowEnd - start).TotalSeconds, 0.001);
            var flows = bytes
                .Select(f => new ViewFlow(f.Key.Source, f.Key.Destination, f.Key.Class, f.Value.Bytes / seconds, PerHour(f.Value.Picodollars, seconds)))
                .OrderByDescending(f => f.BytesPerSecond).ThenBy(f => f.Source, StringComparer.Ordinal)
                .ToList();
            var classes = flows.GroupBy(f => f.TrafficClass)
                .Select(g => (g.Key, g.Sum(f => f.BytesPerSecond), g.Sum(f => f.DollarsPerHour)))
                .OrderByDescending(c => c.Item2).ToList();
            latest = new ViewWindow(start, batch.Header.WindowEnd, batch.Header.Node, [.. flows.Take(topFlows)], classes, sequence);
        }
    }

    /// <summary>A window's pico-dollars as dollars per hour at the window's rate.</summary>
    private static decimal PerHour(long picodollars, double seconds) =>
        picodollars / (decimal)FlowCharges.PicodollarsPerDollar * (decimal)(3600 / seconds);

    /// <summary>The workload (namespace/name), else the pod, else the address.</summary>
    private static string SourceOf(EnrichedFlow flow, FlowEndpoint source) => Describe(source, flow.Flow.SourceIp);

    /// <summary>The service when the flow went to one, else the workload or pod, else the DNS name, else the address.</summary>
    private static string DestinationOf(EnrichedFlow flow, FlowEndpoint destination) =>
        flow.DestinationService is { Length: > 0 } service ? $"service {service}"
        : destination.Pod is not null ? Describe(destination, flow.Flow.DestinationIp)
        : flow.DestinationDnsName is { Length: > 0 } name ? $"{name} ({flow.Flow.DestinationIp})"
        : flow.Flow.DestinationIp.ToString();

    private static string Describe(FlowEndpoint endpoint, IpAddr address) =>
        endpoint.WorkloadName is { Length: > 0 } workload ? $"{endpoint.Namespace}/{workload}"
        : endpoint.Pod is { Length: > 0 } pod ? $"{endpoint.Namespace}/{pod}"
        : address.ToString();

    private static string ClassOf(TrafficClass trafficClass) => trafficClass switch
    {
        TrafficClass.SameNode => TrafficClassNames.SameNode,
        TrafficClass.SameZone => TrafficClassNames.SameZone,
        TrafficClass.CrossZone => TrafficClassNames.CrossZone,
        TrafficClass.CrossRegion => TrafficClassNames.CrossRegion,
        TrafficClass.Internet => TrafficClassNames.Internet,
        TrafficClass.PrivateExternal => TrafficClassNames.PrivateExternal,
        _ => TrafficClassNames.Unknown,
    };
}
