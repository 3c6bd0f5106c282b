using Egressd.Collector.Dns;
using Egressd.Collector.Flows;
using Egressd.Enricher;
using Egressd.Exporter.Sinks.FlowLog;
using Egressd.Exporter.Sinks.Http;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Shared.Kubernetes;
using Prometheus;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// Metrics a test owns, in a registry of their own: what it reads was counted by the parts it
/// built, never by another test running beside it.
/// </summary>
internal static class TestMetrics
{
    public static IMetricFactory Factory() => Metrics.WithCustomRegistry(Metrics.NewCustomRegistry());

    public static CollectorMetrics Collector() => new(Factory());

    public static ConntrackMetrics Conntrack() => new(Factory());

    public static DnsMetrics Dns() => new(Factory());

    public static EnricherMetrics Enricher() => new(Factory());

    public static KubernetesMetrics Kubernetes() => new(Factory());

    public static PrometheusSinkMetrics PrometheusSink() => new(Factory());

    public static HttpSinkMetrics HttpSink() => new(Factory());

    public static FlowLogMetrics FlowLog() => new(Factory());
}
