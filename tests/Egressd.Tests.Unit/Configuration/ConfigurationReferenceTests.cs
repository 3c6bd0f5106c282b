using System.Reflection;
using System.Text.RegularExpressions;
using Egressd.Collector;
using Egressd.Enricher;
using Egressd.Exporter;
using Egressd.Shared.Bus;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Configuration;

/// <summary>docs/CONFIGURATION.md lists exactly the settings the options classes bind.</summary>
public sealed partial class ConfigurationReferenceTests
{
    [Fact]
    public void Configuration_reference_matches_the_options_classes()
    {
        // Every options class of every service: a type with a Section constant under Egressd.
        var fromCode = new SortedSet<string>(StringComparer.Ordinal);
        Type[] services = [typeof(BusOptions), typeof(CollectorOptions), typeof(EnricherHostingExtensions), typeof(ExporterOptions)];
        foreach (var type in services.SelectMany(s => s.Assembly.GetTypes()))
        {
            if (type.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() is string section
                && section.StartsWith("Egressd:", StringComparison.Ordinal))
            {
                Collect(type, section, fromCode);
            }
        }

        Assert.Contains("Egressd:ClusterContext:Source", fromCode);
        Assert.Contains("Egressd:Exporter:Prometheus:Level", fromCode);

        var reference = File.ReadAllText(Repo.Path("docs", "CONFIGURATION.md"));
        var rows = RowKey().Matches(reference).Select(m => m.Groups[1].Value).ToList();
        var twice = rows.GroupBy(r => r, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, "documented more than once in docs/CONFIGURATION.md: " + string.Join(", ", twice));
        var fromDocs = new SortedSet<string>(rows, StringComparer.Ordinal);

        Assert.True(fromCode.SetEquals(fromDocs),
            $"In code, not in docs/CONFIGURATION.md: {string.Join(", ", fromCode.Except(fromDocs))}\nIn docs/CONFIGURATION.md, not in code: {string.Join(", ", fromDocs.Except(fromCode))}");
    }

    private static void Collect(Type type, string prefix, SortedSet<string> keys)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var key = $"{prefix}:{property.Name}";
            var t = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (t.IsClass && t != typeof(string) && t.Namespace?.StartsWith("Egressd", StringComparison.Ordinal) == true)
            {
                Collect(t, key, keys);
            }
            else
            {
                keys.Add(key);
            }
        }
    }

    // A reference row starts with the key in backticks: | `Egressd:Bus:Transport` | ...
    [GeneratedRegex(@"^\|\s*`(Egressd:[A-Za-z:]+)`\s*\|", RegexOptions.Multiline)]
    private static partial Regex RowKey();
}
