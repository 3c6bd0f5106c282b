using System.Diagnostics;

namespace Egressd.Benchmarks;

/// <summary>The broker a benchmark talks to: EGRESSD_TEST_RABBITMQ when set, else a private one it starts.</summary>
internal sealed class Broker : IAsyncDisposable
{
    private readonly string? directory;
    private readonly IDisposable? undo;

    private Broker(Uri address, string? directory)
    {
        Address = address;
        this.directory = directory;
        undo = directory is null ? null : Teardown.Add("the private RabbitMQ", () => ScriptAsync("stop", directory).GetAwaiter().GetResult());
    }

    public Uri Address { get; }

    /// <summary>
    /// The broker's Erlang VM, for its CPU and memory beside ours: the one started in this broker's
    /// directory (other brokers may run on a shared machine), or the newest for a configured broker.
    /// </summary>
    public Process? Beam()
    {
        var beams = Process.GetProcessesByName("beam.smp");
        return directory is null
            ? beams.OrderByDescending(p => p.StartTime).FirstOrDefault()
            : beams.FirstOrDefault(p => File.ReadAllText($"/proc/{p.Id}/cmdline").Contains(directory, StringComparison.Ordinal));
    }

    public static async Task<Broker> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("EGRESSD_TEST_RABBITMQ") is { Length: > 0 } configured)
        {
            return new Broker(new Uri(configured), null);
        }

        var directory = Path.Combine(Path.GetTempPath(), $"egressd-bench-rabbitmq-{Guid.NewGuid():N}");
        var address = await ScriptAsync("start", directory);
        return new Broker(new Uri(address.Trim()), directory);
    }

    public async ValueTask DisposeAsync()
    {
        if (directory is not null)
        {
            await ScriptAsync("stop", directory);
            undo!.Dispose();
        }
    }

    private static async Task<string> ScriptAsync(string command, string directory)
    {
        var script = Path.Combine(Repo.Root, "tests", "private-rabbitmq.sh");
        var start = new ProcessStartInfo("bash", [script, command, directory]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"tests/private-rabbitmq.sh {command} failed");
    }
}

internal static class Repo
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Egressd.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Egressd.sln not found");
    }
}
