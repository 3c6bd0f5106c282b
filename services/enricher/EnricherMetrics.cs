using Prometheus;

namespace Egressd.Enricher;

/// <summary>What the enricher did with collected batches.</summary>
internal sealed class EnricherMetrics(IMetricFactory metrics)
{
    public Counter Batches { get; } = metrics.CreateCounter(
        "egressd_enricher_batches_total", "Collected batches enriched and republished.");

    public Counter Skipped { get; } = metrics.CreateCounter(
        "egressd_enricher_batches_skipped_total", "Collected batches skipped, by reason.", ["reason"]);

    public Counter Refused { get; } = metrics.CreateCounter(
        "egressd_enricher_batches_refused_total", "Collected batches refused as invalid (sent to the _error queue).");

    public Counter Flows { get; } = metrics.CreateCounter(
        "egressd_enricher_flows_total", "Flows enriched and republished, by traffic class.", ["traffic_class"]);

    public Counter Unattributed { get; } = metrics.CreateCounter(
        "egressd_enricher_unattributed_flows_total", "Flows kept without a source pod, by reason.", ["reason"]);

    public Gauge DnsNames { get; } = metrics.CreateGauge(
        "egressd_enricher_dns_names", "Addresses with a DNS name from the collectors' answers.");

    public Counter DnsNamesEvicted { get; } = metrics.CreateCounter(
        "egressd_enricher_dns_names_evicted_total", "Addresses dropped from the DNS name map because it was full (Egressd:Enricher:DnsMaxEntries).");
}
