using Egressd.Contracts;

namespace Egressd.Shared.Cost;

/// <summary>Reads a traffic class written in settings by its label name.</summary>
internal static class TrafficClasses
{
    public static string Names { get; } = string.Join(", ", Enum.GetValues<TrafficClass>().Select(c => c.Name()));

    public static bool TryParse(string? text, out TrafficClass trafficClass)
    {
        foreach (var candidate in Enum.GetValues<TrafficClass>())
        {
            if (string.Equals(candidate.Name(), text?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                trafficClass = candidate;
                return true;
            }
        }

        trafficClass = TrafficClass.Unknown;
        return false;
    }
}
