using System.Globalization;
using System.Text.RegularExpressions;

namespace Egressd.Tests.Infrastructure;

/// <summary>Reads samples out of a Prometheus text exposition.</summary>
internal static partial class Exposition
{
    /// <summary>Every sample of <paramref name="metric"/>: its labels and value.</summary>
    public static IReadOnlyList<PromSample> Samples(string text, string metric)
    {
        var samples = new List<PromSample>();
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(metric, StringComparison.Ordinal) || (line.Length > metric.Length && line[metric.Length] is not ('{' or ' ')))
            {
                continue;
            }

            var labels = new Dictionary<string, string>();
            var close = line.LastIndexOf('}');
            if (line[metric.Length] == '{')
            {
                foreach (Match m in Label().Matches(line[(metric.Length + 1)..close]))
                {
                    labels[m.Groups[1].Value] = Regex.Unescape(m.Groups[2].Value);
                }
            }

            var value = line[((close < 0 ? metric.Length : close + 1))..].Trim();
            samples.Add(new PromSample(labels, double.Parse(value, CultureInfo.InvariantCulture)));
        }

        return samples;
    }

    /// <summary>The value of an unlabelled (or single-labelled) sample, or 0 when absent.</summary>
    public static double Value(string text, string metric, string? label = null, string? value = null) =>
        Samples(text, metric).Where(s => label is null || s.Labels.GetValueOrDefault(label) == value).Sum(s => s.Value);

    /// <summary>Runs <c>promtool check metrics</c> on the text; returns its exit code and what it said.</summary>
    public static (int Code, string Output) Promtool(string text)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, text);
            var (code, output, error) = Shell.TryRun("sh", "-c", $"promtool check metrics < '{file}'");
            return (code, output + error);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)""")]
    private static partial Regex Label();
}
