using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Security;

/// <summary>Bus settings that used to fall back silently or crash: each is now one line and exit code 2.</summary>
public sealed class BusConfigurationTests
{
    private const string Secret = "s3cret-Pa55";

    public static TheoryData<string, string, string[]> Cases => new()
    {
        // A URI where a host name goes: an unhandled UriFormatException before, with the password in reach.
        { "collector", $"Egressd:Bus:Transport=rabbitmq;Egressd:Bus:RabbitMq:Host=amqp://egressd:{Secret}@broker.internal:5672/;Egressd:Bus:RabbitMq:Username=egressd;Egressd:Bus:RabbitMq:Password=x", ["Egressd:Bus:RabbitMq:Host", "not a URI"] },
        // No user name or password: guest/guest was used silently before.
        { "enricher", "Egressd:Bus:Transport=rabbitmq;Egressd:Bus:RabbitMq:Host=broker.internal", ["Egressd:Bus:RabbitMq:Username is required", "Egressd:Bus:RabbitMq:Password or Egressd:Bus:RabbitMq:PasswordFile is required"] },
        { "exporter", "Egressd:Bus:Transport=rabbitmq;Egressd:Bus:RabbitMq:Host=broker.internal;Egressd:Bus:RabbitMq:Username=egressd", ["Egressd:Bus:RabbitMq:PasswordFile is required"] },
        // Not a transport, in any case; a number is not one either (the binder would take it as an enum value).
        { "exporter", "Egressd:Bus:Transport=Kafka", ["Egressd:Bus:Transport must be 'inmemory' or 'rabbitmq' (got 'Kafka')"] },
        { "enricher", "Egressd:Bus:Transport=1", ["Egressd:Bus:Transport must be 'inmemory' or 'rabbitmq' (got '1')"] },
        // A cluster's nodes: a URI among them (never echoed), Host given as well, IPv6 among several, TLS without one name for all.
        { "collector", $"Egressd:Bus:Transport=rabbitmq;Egressd:Bus:RabbitMq:Hosts:0=rabbit-0.internal;Egressd:Bus:RabbitMq:Hosts:1=amqp://egressd:{Secret}@rabbit-1.internal:5672/;Egressd:Bus:RabbitMq:Username=u;Egressd:Bus:RabbitMq:Password=p", ["Egressd:Bus:RabbitMq:Hosts:1 must be a host name or IP address", "not a URI"] },
        { "enricher", "Egressd:Bus:Transport=rabbitmq;Egressd:Bus:RabbitMq:Host=rabbit.internal;Egressd:Bus:RabbitMq:Hosts:0=rabbit-0.internal;Egressd:Bus:RabbitMq:Username=u;Egressd:Bus:RabbitMq:Password=p", ["Egressd:Bus:RabbitMq:Host and Egressd:Bus:RabbitMq:Hosts are both set"] },
        { "exporter", "Egressd:Bus:Transport=rabbitmq;Egressd:Bus:RabbitMq:Hosts:0=rabbit-0.internal:5673;Egressd:Bus:RabbitMq:Hosts:1=[fd00::1]:5672;Egressd:Bus:RabbitMq:Username=u;Egressd:Bus:RabbitMq:Password=p", ["Egressd:Bus:RabbitMq:Hosts lists [fd00::1]:5672 among several nodes"] },
        { "collector", "Egressd:Bus:Transport=rabbitmq;Egressd:Bus:RabbitMq:Hosts:0=rabbit-0.internal;Egressd:Bus:RabbitMq:Hosts:1=rabbit-1.internal;Egressd:Bus:RabbitMq:Username=u;Egressd:Bus:RabbitMq:Password=p;Egressd:Bus:RabbitMq:UseTls=true", ["Egressd:Bus:RabbitMq:TlsServerName is required with several Egressd:Bus:RabbitMq:Hosts"] },
        // A CA file that holds no certificate, and one given without TLS.
        { "collector", "Egressd:Bus:Transport=rabbitmq;Egressd:Bus:RabbitMq:Host=broker.internal;Egressd:Bus:RabbitMq:Username=u;Egressd:Bus:RabbitMq:Password=p;Egressd:Bus:RabbitMq:UseTls=true;Egressd:Bus:RabbitMq:TlsCaFile=/proc/version", ["Egressd:Bus:RabbitMq:TlsCaFile '/proc/version'", "no PEM certificate"] },
        { "collector", "Egressd:Bus:Transport=rabbitmq;Egressd:Bus:RabbitMq:Host=broker.internal;Egressd:Bus:RabbitMq:Username=u;Egressd:Bus:RabbitMq:Password=p;Egressd:Bus:RabbitMq:TlsCaFile=/proc/version", ["Egressd:Bus:RabbitMq:TlsCaFile is set but Egressd:Bus:RabbitMq:UseTls is not"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_bus_setting_stops_the_service_with_one_line_and_exit_code_2(string service, string settings, string[] expected)
    {
        var values = new Dictionary<string, string?>
        {
            ["Egressd:Collector:Source"] = "replay",
            ["Egressd:Collector:ReplayFile"] = Repo.SampleFlows,
        };
        foreach (var pair in settings.Split(';'))
        {
            var at = pair.IndexOf('=');
            values[pair[..at]] = pair[(at + 1)..];
        }

        var assembly = "Egressd." + char.ToUpperInvariant(service[0]) + service[1..];
        await using var process = ServiceProcess.Start(service, Repo.ServiceDll(service, assembly), values);
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        var all = string.Join('\n', process.Output);
        Assert.True(exitCode == 2, $"exit code {exitCode}:\n{all}");
        var line = Assert.Single(process.Output, l => l.StartsWith("stderr: ", StringComparison.Ordinal));
        Assert.Contains($"egressd-{service}: configuration error:", line, StringComparison.Ordinal);
        foreach (var text in expected)
        {
            Assert.Contains(text, line, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(Secret, all, StringComparison.Ordinal);
        Assert.DoesNotContain("UriFormatException", all, StringComparison.Ordinal);
    }
}
