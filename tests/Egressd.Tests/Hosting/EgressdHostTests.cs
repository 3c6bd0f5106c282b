using System.Net;
using System.Net.Sockets;
using Egressd.Shared.Hosting;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Hosting;

/// <summary>How a service ends when something outside its settings goes wrong.</summary>
public sealed class EgressdHostTests
{
    [Fact]
    public async Task A_background_service_that_crashes_ends_the_process_with_a_non_zero_code()
    {
        var code = await EgressdHost.RunAsync(
            ["--Egressd:Http:Port=0", "--Egressd:Http:BindAddress=127.0.0.1"],
            "egressd-test",
            defaultPort: 0,
            builder => builder.Services.AddHostedService<Crashing>());

        Assert.Equal(1, code);
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_naming_the_setting_and_exit_code_2()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        await using var process = ServiceProcess.Start("exporter", Repo.ServiceDll("exporter", "Egressd.Exporter"), new Dictionary<string, string?>
        {
            ["Egressd:Http:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Egressd:Http:BindAddress"] = "127.0.0.1",
        });

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var line = Assert.Single(process.Output, l => l.StartsWith("stderr: ", StringComparison.Ordinal));
        Assert.Contains($"port {port} on 127.0.0.1 is already in use; set Egressd:Http:Port", line, StringComparison.Ordinal);
    }

    private sealed class Crashing : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            throw new InvalidOperationException("crashed on purpose");
        }
    }
}
