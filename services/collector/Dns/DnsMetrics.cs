using Prometheus;

namespace Egressd.Collector.Dns;

/// <summary>DNS capture as seen on <c>/metrics</c>.</summary>
internal sealed class DnsMetrics(IMetricFactory metrics)
{
    public Gauge CaptureUp { get; } = metrics.CreateGauge(
        "egressd_dns_capture_up", "1 while DNS responses are being captured, 0 when capture is off or was refused.");

    public Counter Responses { get; } = metrics.CreateCounter(
        "egressd_dns_responses_total", "DNS responses captured (a response seen on two interfaces counts twice).", ["transport"]);

    public Counter AnswersRecorded { get; } = metrics.CreateCounter(
        "egressd_dns_answers_recorded_total", "A and AAAA answers recorded in the address-to-name map.");

    public Counter AnswersShipped { get; } = metrics.CreateCounter(
        "egressd_dns_answers_shipped_total", "Answers new or refreshed since the last batch, handed to the next window.");

    public Counter AnswersDropped { get; } = metrics.CreateCounter(
        "egressd_dns_answers_dropped_total", "Answers dropped because the read cycle had not taken the previous ones yet.");

    public Counter ParseFailures { get; } = metrics.CreateCounter(
        "egressd_dns_parse_failures_total", "Captured responses that could not be read, by reason; each is skipped.", ["reason"]);

    public Gauge MapEntries { get; } = metrics.CreateGauge(
        "egressd_dns_map_entries", "Addresses in the address-to-name map.");

    public Counter MapEvictions { get; } = metrics.CreateCounter(
        "egressd_dns_map_evictions_total", "Addresses removed from the map: 'lru' when it was full, 'expired' when their TTL ran out.", ["reason"]);

    public Counter KernelDrops { get; } = metrics.CreateCounter(
        "egressd_dns_capture_drops_total", "Packets the kernel dropped because the capture socket's buffer was full.");
}
