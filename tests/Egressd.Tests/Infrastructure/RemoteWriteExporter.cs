using Egressd.Exporter;

namespace Egressd.Tests.Infrastructure;

/// <summary>The exporter in this process on the in-memory bus, with remote write on and pushing only when a test calls it.</summary>
internal static class RemoteWriteExporter
{
    public static Task<InProcessHost> StartAsync(string url, CapturedLogs logs, IReadOnlyDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "inmemory",
            ["Egressd:Exporter:FlowLog:Enabled"] = "false",
            ["Egressd:Exporter:RemoteWrite:Enabled"] = "true",
            ["Egressd:Exporter:RemoteWrite:Url"] = url,
            // No timer push: each test pushes when it is ready.
            ["Egressd:Exporter:RemoteWrite:Interval"] = "01:00:00",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return InProcessHost.StartAsync("egressd-exporter", b =>
        {
            b.AddExporter();
            b.Logging.AddProvider(logs);
        }, settings);
    }
}
