using System.Globalization;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// How many times a collector has read connection tracking, from its /metrics: a test that must see
/// that more reads change nothing waits for those reads, never for a stretch of time.
/// </summary>
internal static class CollectorReads
{
    private const string Count = "egressd_collector_read_duration_seconds_count ";

    public static double In(string exposition)
    {
        var line = exposition.Split('\n').FirstOrDefault(l => l.StartsWith(Count, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[Count.Length..], CultureInfo.InvariantCulture);
    }
}
