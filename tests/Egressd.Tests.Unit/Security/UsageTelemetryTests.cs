using Egressd.Collector;
using Egressd.Enricher;
using Egressd.Exporter;
using Egressd.Shared.Hosting;
using MassTransit;
using MassTransit.UsageTracking;
using Microsoft.Extensions.Options;

namespace Egressd.Tests.Security;

/// <summary>MassTransit 8.4+ reports usage to its vendor unless told not to; no egressd service may.</summary>
public sealed class UsageTelemetryTests
{
    public static TheoryData<string> Services => ["egressd-collector", "egressd-enricher", "egressd-exporter"];

    [Theory]
    [MemberData(nameof(Services))]
    public async Task MassTransit_usage_telemetry_is_off_in_every_service(string service)
    {
        var app = EgressdHost.Build([], service, defaultPort: 0, builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Egressd:Bus:Transport"] = "inmemory",
                ["Egressd:Collector:Source"] = "replay",
                ["Egressd:Collector:ReplayFile"] = Infrastructure.Repo.SampleFlows,
                ["Egressd:Enricher:Source"] = "none",
                ["Egressd:Http:BindAddress"] = "127.0.0.1",
            });
            switch (service)
            {
                case "egressd-collector":
                    builder.AddCollector();
                    break;
                case "egressd-enricher":
                    builder.AddEnricher();
                    break;
                default:
                    builder.AddExporter();
                    break;
            }
        });
        await using (app)
        {
            // The option as configured, read before the tracker applies MASSTRANSIT_USAGE_TELEMETRY to it.
            Assert.False(app.Services.GetRequiredService<IOptions<UsageTelemetryOptions>>().Value.Enabled);
            // And the tracker the bus consults when it is configured: off, so nothing is ever sent.
            var tracker = Assert.IsType<UsageTracker>(app.Services.GetRequiredService<IUsageTracker>());
            Assert.False(tracker.Enabled);
        }
    }
}
