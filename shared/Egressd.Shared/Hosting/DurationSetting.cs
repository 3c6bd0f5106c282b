namespace Egressd.Shared.Hosting;

/// <summary>Checks of a <see cref="TimeSpan"/> setting, in the one-line form every validator uses.</summary>
public static class DurationSetting
{
    /// <summary>
    /// Adds an error when <paramref name="value"/> is outside [<paramref name="min"/>, <paramref name="max"/>].
    /// Configuration reads a bare number as days (<c>5</c> is five days), so a value past the maximum
    /// says how to write one.
    /// </summary>
    public static void Validate(TimeSpan value, string setting, TimeSpan min, TimeSpan max, ICollection<string> errors)
    {
        if (value < min)
        {
            errors.Add($"{setting} must be at least {min} (got {value})");
        }
        else if (value > max)
        {
            errors.Add($"{setting} must be at most {max} (got {value}; write durations as hh:mm:ss, e.g. 00:00:05: a bare number is read as days)");
        }
    }
}
