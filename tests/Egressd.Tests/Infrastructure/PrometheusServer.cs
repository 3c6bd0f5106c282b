using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c> package) on a free loopback port, with its own
/// temporary storage, scraping the given targets every second and, when asked, accepting remote
/// write. Stopped and deleted on dispose.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    public const string Job = "egressd";

    private readonly Process process;
    private readonly string directory;
    private readonly ConcurrentQueue<string> output = new();
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private PrometheusServer(Process process, string directory, int port)
    {
        this.process = process;
        this.directory = directory;
        Port = port;
    }

    public int Port { get; }

    public Uri RemoteWriteUrl => new($"http://127.0.0.1:{Port}/api/v1/write");

    public static string Binary() =>
        Shell.TryRun("sh", "-c", "command -v prometheus").Output.Trim() is { Length: > 0 } path
            ? path
            : throw new InvalidOperationException("Prometheus tests need Debian's prometheus package (apt-get install prometheus; sudo ./test.sh installs it).");

    /// <param name="targets">host:port of each endpoint to scrape at /metrics.</param>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyList<string> targets, bool remoteWriteReceiver = false)
    {
        var scrape = targets.Count == 0 ? "scrape_configs: []\n" : $"""
            scrape_configs:
              - job_name: {Job}
                metrics_path: /metrics
                static_configs:
                  - targets: [{string.Join(", ", targets.Select(t => $"'{t}'"))}]

            """;
        return await StartWithAsync(scrape, remoteWriteReceiver);
    }

    /// <summary>A job per key, each target (host:port) with the labels given for it (a PodMonitor's node label, say).</summary>
    public static Task<PrometheusServer> StartAsync(IReadOnlyDictionary<string, IReadOnlyList<(string Target, IReadOnlyDictionary<string, string> Labels)>> jobs)
    {
        var scrape = new System.Text.StringBuilder("scrape_configs:\n");
        foreach (var (job, targets) in jobs)
        {
            scrape.Append(CultureInfo.InvariantCulture, $"  - job_name: {job}\n    metrics_path: /metrics\n    static_configs:\n");
            foreach (var (target, labels) in targets)
            {
                var pairs = string.Join(", ", labels.Select(l => l.Key + ": '" + l.Value + "'"));
                scrape.Append(CultureInfo.InvariantCulture, $"      - targets: ['{target}']\n        labels: {{{pairs}}}\n");
            }
        }

        return StartWithAsync(scrape.ToString(), remoteWriteReceiver: false);
    }

    private static async Task<PrometheusServer> StartWithAsync(string scrape, bool remoteWriteReceiver)
    {
        var binary = Binary();
        var directory = Directory.CreateTempSubdirectory("egressd-prometheus-").FullName;
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n" + scrape);

        var port = FreePort.Next();
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var argument in new[]
        {
            $"--config.file={config}",
            $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        })
        {
            start.ArgumentList.Add(argument);
        }

        if (remoteWriteReceiver)
        {
            start.ArgumentList.Add("--web.enable-remote-write-receiver");
        }

        var process = new Process { StartInfo = start };
        var server = new PrometheusServer(process, directory, port);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { server.output.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { server.output.Enqueue(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var ready = await Eventually.TrueAsync(async () => process.HasExited || await server.IsReadyAsync(), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
        if (!ready || process.HasExited)
        {
            var tail = server.Tail();
            await server.DisposeAsync();
            throw new InvalidOperationException($"Prometheus did not become ready on port {port}:\n{tail}");
        }

        return server;
    }

    /// <summary>Waits until every scrape target is up.</summary>
    public async Task WaitForTargetsUpAsync(int count, TimeSpan timeout)
    {
        var up = await Eventually.TrueAsync(async () => (await QueryAsync($"up{{job=\"{Job}\"}} == 1")).Count == count, timeout, TimeSpan.FromMilliseconds(250));
        Assert.True(up, $"Prometheus never saw its {count} target(s) up\n{Tail()}");
    }

    /// <summary>An instant query: each result's labels and value.</summary>
    public async Task<IReadOnlyList<PromSample>> QueryAsync(string promql, DateTimeOffset? at = null)
    {
        var url = $"http://127.0.0.1:{Port}/api/v1/query?query={Uri.EscapeDataString(promql)}";
        if (at is { } time)
        {
            url += "&time=" + (time.ToUnixTimeMilliseconds() / 1000.0).ToString("F3", CultureInfo.InvariantCulture);
        }

        using var response = await http.GetAsync(new Uri(url));
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"query '{promql}' answered {(int)response.StatusCode}: {text}");
        }

        using var document = JsonDocument.Parse(text);
        var data = document.RootElement.GetProperty("data");
        var results = new List<PromSample>();
        if (data.GetProperty("resultType").GetString() == "scalar")
        {
            results.Add(new PromSample(new Dictionary<string, string>(), ParseValue(data.GetProperty("result"))));
            return results;
        }

        foreach (var item in data.GetProperty("result").EnumerateArray())
        {
            var labels = item.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            results.Add(new PromSample(labels, ParseValue(item.GetProperty("value"))));
        }

        return results;
    }

    /// <summary>A range query: each series' labels, and its value at every step (null where it had none).</summary>
    public async Task<IReadOnlyList<(Dictionary<string, string> Labels, double?[] Values)>> QueryRangeAsync(string promql, DateTimeOffset start, DateTimeOffset end, TimeSpan step)
    {
        static string Unix(DateTimeOffset t) => (t.ToUnixTimeMilliseconds() / 1000.0).ToString("F3", CultureInfo.InvariantCulture);
        var url = $"http://127.0.0.1:{Port}/api/v1/query_range?query={Uri.EscapeDataString(promql)}&start={Unix(start)}&end={Unix(end)}&step={step.TotalSeconds.ToString(CultureInfo.InvariantCulture)}";
        using var response = await http.GetAsync(new Uri(url));
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"query_range '{promql}' answered {(int)response.StatusCode}: {text}");
        }

        var steps = (int)Math.Round((end - start) / step) + 1;
        using var document = JsonDocument.Parse(text);
        var results = new List<(Dictionary<string, string>, double?[])>();
        foreach (var item in document.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = item.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            var values = new double?[steps];
            foreach (var point in item.GetProperty("values").EnumerateArray())
            {
                var index = (int)Math.Round((point[0].GetDouble() - (start.ToUnixTimeMilliseconds() / 1000.0)) / step.TotalSeconds);
                if (index >= 0 && index < steps)
                {
                    values[index] = double.Parse(point[1].GetString()!, CultureInfo.InvariantCulture);
                }
            }

            results.Add((labels, values));
        }

        return results;
    }

    /// <summary>One value per result, keyed by the value of <paramref name="label"/>.</summary>
    public async Task<Dictionary<string, double>> QueryByAsync(string promql, string label, DateTimeOffset? at = null) =>
        (await QueryAsync(promql, at)).ToDictionary(s => s.Labels.GetValueOrDefault(label, ""), s => s.Value);

    public string Tail(int lines = 30) => string.Join('\n', output.TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                // Killed; nothing more to wait for.
            }
        }

        process.Dispose();
        http.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still being closed; the temporary folder goes with the machine.
        }
    }

    private async Task<bool> IsReadyAsync()
    {
        try
        {
            using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{Port}/-/ready"));
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    private static double ParseValue(JsonElement pair) =>
        double.Parse(pair[1].GetString()!, CultureInfo.InvariantCulture);
}
