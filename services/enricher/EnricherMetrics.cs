using Prometheus;

namespace Egressd.Enricher;

/// <summary>What the enricher did with collected batches.</summary>
internal static class EnricherMetrics
{
    public static readonly Counter Batches = Metrics.CreateCounter(
        "egressd_enricher_batches_total", "Collected batches enriched and republished.");

    public static readonly Counter Skipped = Metrics.CreateCounter(
        "egressd_enricher_batches_skipped_total", "Collected batches skipped, by reason.", "reason");

    public static readonly Counter Refused = Metrics.CreateCounter(
        "egressd_enricher_batches_refused_total", "Collected batches refused as invalid (sent to the _error queue).");

    public static readonly Counter Flows = Metrics.CreateCounter(
        "egressd_enricher_flows_total", "Flows enriched and republished, by traffic class.", "traffic_class");

    public static readonly Counter Unattributed = Metrics.CreateCounter(
        "egressd_enricher_unattributed_flows_total", "Flows kept without a source pod, by reason.", "reason");

    public static readonly Gauge DnsNames = Metrics.CreateGauge(
        "egressd_enricher_dns_names", "Addresses with a DNS name from the collectors' answers.");

    public static readonly Counter DnsNamesEvicted = Metrics.CreateCounter(
        "egressd_enricher_dns_names_evicted_total", "Addresses dropped from the DNS name map because it was full (Egressd:Enricher:DnsMaxEntries).");
}
