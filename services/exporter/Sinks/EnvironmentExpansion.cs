using System.Text.RegularExpressions;

namespace Egressd.Exporter.Sinks;

/// <summary><c>${VAR}</c> from the environment, as egressd expands its sink settings.</summary>
internal static partial class EnvironmentExpansion
{
    /// <summary>The text with every <c>${VAR}</c> replaced; the first variable that is not set, if any.</summary>
    public static (string Text, string? Missing) Expand(string text)
    {
        string? missing = null;
        var expanded = Variable().Replace(text, m =>
        {
            var value = Environment.GetEnvironmentVariable(m.Groups[1].Value);
            if (value is null)
            {
                missing ??= m.Groups[1].Value;
                return "";
            }

            return value;
        });
        return (expanded, missing);
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Variable();
}
