using System.Reflection;
using System.Text.RegularExpressions;
using Egressd.Collector;
using Egressd.Enricher;
using Egressd.Exporter;
using Egressd.Exporter.Sinks.FlowLog;
using Egressd.Shared.Bus;
using Egressd.Shared.Hosting;
using Egressd.Shared.Inventory;
using Egressd.Shared.Kubernetes;
using Egressd.Shared.Network;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Configuration;

/// <summary>The README's configuration reference lists exactly the settings the options classes bind.</summary>
public sealed partial class ConfigurationReferenceTests
{
    [Fact]
    public void Readme_configuration_reference_matches_the_options_classes()
    {
        var fromCode = new SortedSet<string>(StringComparer.Ordinal);
        Collect(typeof(BusOptions), BusOptions.Section, fromCode);
        Collect(typeof(HttpOptions), HttpOptions.Section, fromCode);
        Collect(typeof(CollectorOptions), CollectorOptions.Section, fromCode);
        Collect(typeof(ExporterOptions), ExporterOptions.Section, fromCode);
        Collect(typeof(FlowLogOptions), FlowLogOptions.Section, fromCode);
        Collect(typeof(NetworkOptions), NetworkOptions.Section, fromCode);
        Collect(typeof(InventoryOptions), InventoryOptions.Section, fromCode);
        Collect(typeof(KubernetesOptions), KubernetesOptions.Section, fromCode);
        Collect(typeof(EnricherOptions), EnricherOptions.Section, fromCode);

        var readme = File.ReadAllText(Repo.Path("README.md"));
        var fromReadme = new SortedSet<string>(
            RowKey().Matches(readme).Select(m => m.Groups[1].Value), StringComparer.Ordinal);

        Assert.True(fromCode.SetEquals(fromReadme),
            $"In code, not in README: {string.Join(", ", fromCode.Except(fromReadme))}\nIn README, not in code: {string.Join(", ", fromReadme.Except(fromCode))}");
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
