using System.Reflection;
using Egressd.Collector;
using Egressd.Enricher;
using Egressd.Exporter;
using Egressd.Shared.Bus;

namespace Egressd.Tests.Hosting;

/// <summary>An event id names one log line: operators filter and alert on them.</summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void Every_log_line_has_an_event_id_of_its_own()
    {
        Type[] services = [typeof(BusOptions), typeof(CollectorOptions), typeof(EnricherHostingExtensions), typeof(ExporterOptions)];
        var lines = services
            .SelectMany(s => s.Assembly.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => (x.Attribute!.EventId, Where: $"{x.Method.DeclaringType!.Name}.{x.Method.Name}"))
            .ToList();

        Assert.True(lines.Count > 50, $"found only {lines.Count} log lines");
        var shared = lines.GroupBy(l => l.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(l => l.Where))}").ToList();
        Assert.True(shared.Count == 0, "event ids used by more than one log line: " + string.Join("; ", shared));
    }
}
