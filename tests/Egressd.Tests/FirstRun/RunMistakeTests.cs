using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.FirstRun;

/// <summary>Every mistake a newcomer makes with run.sh ends in one line on the terminal saying what to do, and exit code 2.</summary>
[Collection(RunScriptCollection.Name)]
public sealed class RunMistakeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Not_root_says_sudo()
    {
        NetnsLab.RequireRoot();
        // nobody (65534) may not enter the clone (root's home is 0700), so it runs a copy of the
        // script from a folder it can read; the script decides before it needs anything else of the
        // clone. In /tmp itself: TMPDIR may be root's alone too (test.sh's is).
        var folder = Directory.CreateDirectory(Path.Combine("/tmp", "egressd-notroot-" + Guid.NewGuid().ToString("N")[..8]));
        try
        {
            folder.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
            var copy = Path.Combine(folder.FullName, "run.sh");
            File.Copy(Repo.Path("run.sh"), copy);
            using var script = RunScript.Start("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--reset-env", copy, "--no-build"], new Dictionary<string, string?>(), folder.FullName);
            await script.WaitAsync(Timeout);

            AssertOneLine(script, 2, "run.sh: reading the kernel's conntrack needs root: sudo ./run.sh");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task No_dotnet_says_how_to_install_it()
    {
        // A PATH with bash and dirname only: what run.sh needs before it looks for the SDK.
        var bin = Directory.CreateTempSubdirectory("egressd-nodotnet-").FullName;
        try
        {
            foreach (var tool in new[] { "bash", "dirname" })
            {
                File.CreateSymbolicLink(Path.Combine(bin, tool), Shell.Run("sh", "-c", $"command -v {tool}").Trim());
            }

            using var script = RunScript.Start(Path.Combine(bin, "bash"), [Repo.Path("run.sh")], new Dictionary<string, string?> { ["PATH"] = bin });
            await script.WaitAsync(Timeout);

            AssertOneLine(script, 2, "run.sh: no .NET SDK: install the .NET 10 SDK");
        }
        finally
        {
            Directory.Delete(bin, recursive: true);
        }
    }

    [Fact]
    public async Task Port_in_use_names_the_setting()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var script = await RunQuietAsync(new() { ["Egressd__Http__Port"] = port.ToString(CultureInfo.InvariantCulture) });

        AssertOneLine(script, 2, $"egressd: configuration error: port {port} on 127.0.0.1 is already in use; set Egressd:Http:Port to a free one");
    }

    [Fact]
    public async Task Duration_without_a_unit_says_how_to_write_one()
    {
        var script = await RunQuietAsync(new() { ["Egressd__Collector__ReadInterval"] = "5" });

        AssertOneLine(script, 2, "egressd: configuration error: Egressd:Collector:ReadInterval must be at most 01:00:00 (got 5.00:00:00; write durations as hh:mm:ss, e.g. 00:00:05: a bare number is read as days)");
    }

    [Fact]
    public async Task Duration_below_its_minimum_names_the_minimum()
    {
        var script = await RunQuietAsync(new() { ["Egressd__Collector__ReadInterval"] = "00:00:00.010" });

        AssertOneLine(script, 2, "egressd: configuration error: Egressd:Collector:ReadInterval must be at least 00:00:00.1000000 (got 00:00:00.0100000)");
    }

    [Fact]
    public async Task Missing_netns_names_it()
    {
        var script = await RunQuietAsync(new() { ["Egressd__Collector__Netns"] = "/run/netns/egd-no-such-namespace" });

        AssertOneLine(script, 2, "egressd: configuration error: Egressd:Collector:Netns '/run/netns/egd-no-such-namespace' does not exist");
    }

    [Fact]
    public async Task No_broker_says_where_it_tried()
    {
        var brokerPort = FreePort.Next();
        var script = await RunQuietAsync(new()
        {
            ["Egressd__Bus__Transport"] = "rabbitmq",
            ["Egressd__Bus__RabbitMq__Host"] = "127.0.0.1",
            ["Egressd__Bus__RabbitMq__Port"] = brokerPort.ToString(CultureInfo.InvariantCulture),
            ["Egressd__Bus__RabbitMq__Username"] = "guest",
            ["Egressd__Bus__RabbitMq__Password"] = "guest",
            ["EGRESSD_READY_TIMEOUT"] = "10",
        });

        AssertOneLine(script, 2, $"run.sh: no RabbitMQ broker reachable at rabbitmq://127.0.0.1:{brokerPort}/ (set Egressd__Bus__RabbitMq__Host and Egressd__Bus__RabbitMq__Port");
    }

    /// <summary>run.sh without the view, on a port of its own, reading this host (root), with one setting changed.</summary>
    private static async Task<RunScript> RunQuietAsync(Dictionary<string, string?> settings)
    {
        NetnsLab.RequireRoot();
        settings.TryAdd("Egressd__Http__Port", FreePort.Next().ToString(CultureInfo.InvariantCulture));
        settings["Egressd__Collector__StateDirectory"] = Directory.CreateTempSubdirectory("egressd-runsh-").FullName;
        var script = RunScript.Start(settings, "--no-build", "--quiet");
        await script.WaitAsync(Timeout);
        return script;
    }

    private static void AssertOneLine(RunScript script, int exitCode, string line)
    {
        var lines = script.ErrorLines();
        Assert.True(lines.Count == 1, $"expected one line on standard error, got {lines.Count}:\n{script.Error}\nstandard output:\n{script.Output}");
        Assert.StartsWith(line, lines[0], StringComparison.Ordinal);
        Assert.Equal(exitCode, script.ExitCode);
    }
}
