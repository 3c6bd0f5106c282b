using System.Globalization;
using System.Text.RegularExpressions;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// Durations as egressd's config file writes them (Go's <c>time.Duration</c>: <c>30s</c>,
/// <c>1m0s</c>, <c>1.5h</c>, <c>500ms</c>), or as .NET settings do (<c>00:00:30</c>). A bare
/// number other than 0 is refused: Go refuses it, and .NET would read it as days.
/// </summary>
internal static partial class SinkDuration
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        text = text.Trim();
        value = TimeSpan.Zero;
        if (text == "0")
        {
            return true;
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
        }

        var parts = GoPart().Matches(text);
        if (parts.Count == 0 || parts.Sum(m => m.Length) != text.Length)
        {
            return false;
        }

        double ticks = 0;
        foreach (Match part in parts)
        {
            var number = double.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture);
            ticks += number * part.Groups[2].Value switch
            {
                "ns" => 0.01,
                "us" or "µs" => TimeSpan.TicksPerMicrosecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                _ => TimeSpan.TicksPerHour,
            };
        }

        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)ticks);
        return true;
    }

    [GeneratedRegex(@"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")]
    private static partial Regex GoPart();
}
