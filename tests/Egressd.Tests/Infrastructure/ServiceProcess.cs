using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;

namespace Egressd.Tests.Infrastructure;

/// <summary>One egressd service started as its own process, the way it runs in a pod.</summary>
internal sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> output = new();
    // Probes give up soon and are asked again; a scrape whose answer a test needs may take long on
    // a loaded machine (a large exposition, a process starved of CPU) and is waited for.
    private readonly HttpClient probe = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly Timer peakSampler;
    private long peakRss;

    private ServiceProcess(string name, Process process, int port)
    {
        Name = name;
        this.process = process;
        Port = port;
        // The high-water mark is the kernel's own, so a sample now and then keeps it past a kill.
        peakSampler = new Timer(_ => SamplePeakRss(), null, Timeout.Infinite, Timeout.Infinite);
    }

    public string Name { get; }

    public int Port { get; }

    public IReadOnlyCollection<string> Output => output;

    public bool HasExited => process.HasExited;

    /// <summary>The process's resident memory now (VmRSS): what a pod's memory limit counts.</summary>
    public long RssBytes() => Status("VmRSS:");

    /// <summary>
    /// The most resident memory the whole process has had since it started (VmHWM: what a pod's
    /// memory limit kills on), also after it exited: sampled every 200 ms and just before a stop or kill.
    /// </summary>
    public long PeakRssBytes()
    {
        SamplePeakRss();
        return Interlocked.Read(ref peakRss);
    }

    private void SamplePeakRss()
    {
        try
        {
            var now = Status("VmHWM:");
            long seen;
            while (now > (seen = Interlocked.Read(ref peakRss)) && Interlocked.CompareExchange(ref peakRss, now, seen) != seen)
            {
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // Gone, or a zombie without memory lines: the last sample stands.
        }
    }

    private long Status(string field)
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <param name="launcher">A command that runs the service, such as setpriv with its arguments.</param>
    public static ServiceProcess Start(string name, string dll, IReadOnlyDictionary<string, string?> settings, int? port = null, string[]? launcher = null, string[]? args = null)
    {
        var httpPort = port ?? (settings.TryGetValue("Egressd:Http:Port", out var given) && int.TryParse(given, out var p) ? p : FreePort.Next());
        string[] command = [.. launcher ?? [], DotnetHost(), dll, .. args ?? []];
        var start = new ProcessStartInfo(command[0], command[1..])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        start.Environment.TryAdd("Egressd__Http__Port", httpPort.ToString());
        start.Environment["Egressd__Http__BindAddress"] = "127.0.0.1";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        // A collector's restart checkpoint of its own, never the machine's /var/lib/egressd that other tests share.
        start.Environment.TryAdd("Egressd__Collector__StateDirectory", Path.Combine(Path.GetTempPath(), $"egressd-state-{Guid.NewGuid():N}"));

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var service = new ServiceProcess(name, process, httpPort);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { service.output.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { service.output.Enqueue("stderr: " + e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        service.peakSampler.Change(TimeSpan.Zero, TimeSpan.FromMilliseconds(200));
        return service;
    }

    public async Task<HttpStatusCode?> StatusAsync(string path)
    {
        try
        {
            using var response = await probe.GetAsync(new Uri($"http://127.0.0.1:{Port}{path}"));
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    public async Task<string> GetStringAsync(string path) =>
        await http.GetStringAsync(new Uri($"http://127.0.0.1:{Port}{path}"));

    public async Task WaitUntilAsync(string path, HttpStatusCode expected, TimeSpan timeout)
    {
        var ok = await Eventually.TrueAsync(async () => HasExited || await StatusAsync(path) == expected, timeout, TimeSpan.FromMilliseconds(200));
        if (!ok || HasExited)
        {
            throw new TimeoutException($"{Name}: {path} did not answer {expected} within {timeout}{(HasExited ? " (the process exited)" : "")}.\n{Tail()}");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return process.ExitCode;
    }

    /// <summary>
    /// Waits until a collector process has completed <paramref name="more"/> further reads, as
    /// its read-duration histogram counts them: "several read intervals later" as a condition.
    /// </summary>
    public async Task WaitForMoreReadsAsync(int more, TimeSpan timeout)
    {
        // The process may log before it listens: wait for /metrics to answer first.
        var start = 0.0;
        if (!await Eventually.TrueAsync(async () => (start = await ReadsOrNoneAsync()) >= 0, timeout, TimeSpan.FromMilliseconds(100)))
        {
            throw new TimeoutException($"{Name}: /metrics never answered within {timeout}\n{Tail()}");
        }

        var done = await Eventually.TrueAsync(async () => await ReadsAsync() >= start + more, timeout, TimeSpan.FromMilliseconds(100));
        if (!done)
        {
            throw new TimeoutException($"{Name}: fewer than {more} more reads within {timeout}\n{Tail()}");
        }
    }

    private async Task<double> ReadsOrNoneAsync()
    {
        try
        {
            return await ReadsAsync();
        }
        catch (HttpRequestException) when (!HasExited)
        {
            return -1;
        }
    }

    private async Task<double> ReadsAsync() => CollectorReads.In(await GetStringAsync("/metrics"));

    /// <summary>The last lines the process wrote, for failure messages.</summary>
    public string Tail(int lines = 40) => string.Join('\n', output.TakeLast(lines));

    /// <summary>SIGTERM, as Kubernetes stops a pod; SIGKILL if it is still there after a while.</summary>
    public async Task StopAsync()
    {
        if (process.HasExited)
        {
            return;
        }

        SamplePeakRss();
        _ = Kill(process.Id, Sigterm);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>SIGSTOP: the process gets no CPU at all, as a starved one gets too little, until <see cref="Resume"/>.</summary>
    public void Pause() => _ = Kill(process.Id, Sigstop);

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => _ = Kill(process.Id, Sigcont);

    /// <summary>SIGKILL, as the kernel's OOM killer or a node failure ends a process: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            SamplePeakRss();
            _ = Kill(process.Id, Sigkill);
        }

        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await peakSampler.DisposeAsync();
        // Keep every line a service wrote when asked to, for a failure that the tail does not explain.
        if (Environment.GetEnvironmentVariable("EGRESSD_TEST_LOGS") is { Length: > 0 } logs)
        {
            Directory.CreateDirectory(logs);
            await File.WriteAllLinesAsync(Path.Combine(logs, $"{Name}-{process.Id}.log"), output);
        }

        process.Dispose();
        http.Dispose();
        probe.Dispose();
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private const int Sigterm = 15;

    private const int Sigkill = 9;

    private const int Sigstop = 19;

    private const int Sigcont = 18;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
