using Egressd.Exporter;

namespace Egressd.Tests.Infrastructure;

/// <summary>The exporter in this process on the in-memory bus, with the flow log off unless a test turns it on.</summary>
internal static class InMemoryExporter
{
    public static Task<InProcessHost> StartAsync(params (string Key, string Value)[] settings) =>
        StartAsync(settings.ToDictionary(s => s.Key, s => (string?)s.Value));

    /// <param name="logs">Where the exporter's log lines go, from Debug up; null: nowhere the test sees.</param>
    public static Task<InProcessHost> StartAsync(IReadOnlyDictionary<string, string?> settings, CapturedLogs? logs = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "inmemory",
            ["Egressd:Exporter:FlowLog:Enabled"] = "false",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return InProcessHost.StartAsync("egressd-exporter", b =>
        {
            if (logs is not null)
            {
                b.Logging.AddProvider(logs);
                b.Logging.SetMinimumLevel(LogLevel.Debug);
            }

            b.AddExporter();
        }, all);
    }

    /// <summary>Remote write on, to <paramref name="url"/>, pushing only when the test calls the pusher.</summary>
    public static Task<InProcessHost> StartWithRemoteWriteAsync(string url, CapturedLogs logs, IReadOnlyDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Egressd:Exporter:RemoteWrite:Enabled"] = "true",
            ["Egressd:Exporter:RemoteWrite:Url"] = url,
            ["Egressd:Exporter:RemoteWrite:Interval"] = "01:00:00",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return StartAsync(settings, logs);
    }

    /// <summary>One scrape of <c>/metrics</c>, bounded so that a scrape that never ends fails the test.</summary>
    public static async Task<string> ScrapeAsync(this InProcessHost host)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        return await http.GetStringAsync(new Uri(host.BaseAddress, "/metrics"), TestContext.Current.CancellationToken);
    }
}
