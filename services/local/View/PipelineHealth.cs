using System.Globalization;
using Prometheus;

namespace Egressd.Local.View;

/// <summary>
/// The pipeline's health as <c>/metrics</c> shows it, read from the host's registry (where every
/// egressd metric is): the same numbers an operator scrapes, with no hook into the services.
/// </summary>
public sealed record PipelineHealth(double WindowsPublished, double BatchesApplied, double Faults, double ReadFailures, double PublishFailures, double Reads, double ConntrackEntries)
{
    public static async Task<PipelineHealth> ReadAsync(CollectorRegistry registry, CancellationToken cancellationToken)
    {
        using var text = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(text, ExpositionFormat.PrometheusText, cancellationToken);
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        text.Position = 0;
        using var reader = new StreamReader(text);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var nameEnd = line.IndexOfAny(['{', ' ']);
            var valueStart = line.LastIndexOf(' ');
            if (nameEnd > 0 && valueStart >= nameEnd
                && double.TryParse(line.AsSpan(valueStart + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                var name = line[..nameEnd];
                sums[name] = sums.GetValueOrDefault(name) + value;
            }
        }

        double Sum(string name) => sums.GetValueOrDefault(name);
        return new PipelineHealth(
            Sum("egressd_collector_windows_published_total"),
            Sum("egressd_exporter_batches_applied_total"),
            Sum("egressd_bus_messages_faulted_total"),
            Sum("egressd_collector_read_failures_total"),
            Sum("egressd_collector_publish_failures_total"),
            Sum("egressd_collector_read_duration_seconds_count"),
            Sum("egressd_conntrack_entries"));
    }
}
