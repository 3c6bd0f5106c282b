using Prometheus;

namespace Egressd.Collector.Dns;

/// <summary>DNS capture as seen on <c>/metrics</c>.</summary>
internal static class DnsMetrics
{
    public static readonly Gauge CaptureUp = Metrics.CreateGauge(
        "egressd_dns_capture_up", "1 while DNS responses are being captured, 0 when capture is off or was refused.");

    public static readonly Counter Responses = Metrics.CreateCounter(
        "egressd_dns_responses_total", "DNS responses captured (a response seen on two interfaces counts twice).", "transport");

    public static readonly Counter AnswersRecorded = Metrics.CreateCounter(
        "egressd_dns_answers_recorded_total", "A and AAAA answers recorded in the address-to-name map.");

    public static readonly Counter AnswersShipped = Metrics.CreateCounter(
        "egressd_dns_answers_shipped_total", "Answers new or refreshed since the last batch, handed to the next window.");

    public static readonly Counter AnswersDropped = Metrics.CreateCounter(
        "egressd_dns_answers_dropped_total", "Answers dropped because the read cycle had not taken the previous ones yet.");

    public static readonly Counter ParseFailures = Metrics.CreateCounter(
        "egressd_dns_parse_failures_total", "Captured responses that could not be read, by reason; each is skipped.", "reason");

    public static readonly Gauge MapEntries = Metrics.CreateGauge(
        "egressd_dns_map_entries", "Addresses in the address-to-name map.");

    public static readonly Counter MapEvictions = Metrics.CreateCounter(
        "egressd_dns_map_evictions_total", "Addresses removed from the map: 'lru' when it was full, 'expired' when their TTL ran out.", "reason");

    public static readonly Counter KernelDrops = Metrics.CreateCounter(
        "egressd_dns_capture_drops_total", "Packets the kernel dropped because the capture socket's buffer was full.");
}
