using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Egressd.Benchmarks;

/// <summary>
/// The collector's cost to a node, as it ships: published as its image publishes it
/// (deploy/docker/collector.Dockerfile), run as a process of its own on a private RabbitMQ (DNS capture
/// on, its node's pods watched over TLS), in two cases one after the other on the same broker: a
/// typical node (5,000 distinct flows every 5 s window) and a busy one (250,000 keys changing at every
/// 100 ms read). Each reports whole-process peak RSS, CPU in % of a core after a warm-up, and the
/// time from start to /readyz. <c>--build DIR</c> runs another build instead of publishing;
/// <c>-p:NAME=VALUE</c> (repeatable) is passed to that publish, <c>--env NAME=VALUE</c> (repeatable) to both
/// runs, so a lever can be measured without an edit; any other collector-memory option applies to both cases.
/// </summary>
internal static class CollectorFootprintBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var properties = args.Where(a => a.StartsWith("-p:", StringComparison.Ordinal)).ToArray();
        args = [.. args.Where(a => !a.StartsWith("-p:", StringComparison.Ordinal))];
        string[][] cases =
        [
            ["--flows", "5000", "--interval", "5000", "--seconds", "65", "--warmup", "15"],
            ["--flows", "250000", "--interval", "100", "--seconds", "40", "--warmup", "10"],
        ];
        string[] names = ["5,000 flows every 5 s", "250,000 changing keys every 100 ms"];
        // --case 1 or --case 2: one of them only, to measure a lever quickly.
        if (Array.IndexOf(args, "--case") is var caseAt && caseAt >= 0 && caseAt + 1 < args.Length && int.TryParse(args[caseAt + 1], out var only) && only is 1 or 2)
        {
            (cases, names) = ([cases[only - 1]], [names[only - 1]]);
            args = [.. args[..caseAt], .. args[(caseAt + 2)..]];
        }

        // The user's options come first, so they win (Run.Parse takes the first occurrence).
        var runs = cases.Select(c => CollectorMemoryBenchmark.Run.Parse([.. args, .. c, "--memory-limit", "none"])).ToArray();
        var publish = runs[0].Build is null ? WorkDirectory.Create("egressd-bench-footprint-") : null;
        try
        {
            var build = runs[0].Build ?? await PublishAsync(publish!.Path, properties);
            await using var shared = await CollectorMemoryBenchmark.Shared.StartAsync(runs[0].InPod, runs.Max(r => r.Pods));
            var results = new List<CollectorMemoryBenchmark.Result>();
            for (var i = 0; i < runs.Length; i++)
            {
                var run = runs[i] with { Build = build };
                Console.WriteLine(run.Describe(shared.Api));
                results.Add(await CollectorMemoryBenchmark.MeasureAsync(run, shared));
            }

            Console.WriteLine();
            Console.WriteLine($"| figure | {string.Join(" | ", names)} |");
            Console.WriteLine($"|---|{string.Concat(names.Select(_ => "---|"))}");
            foreach (var figure in results[0].Rows.Select(r => r.Figure))
            {
                Console.WriteLine($"| {figure} | {string.Join(" | ", results.Select(r => r.Rows.FirstOrDefault(x => x.Figure == figure).Value ?? ""))} |");
            }

            Console.WriteLine($"| targets: ≤ {string.Join(" / ≤ ", runs.Select(r => r.Flows <= 5000 ? "48 MiB, ≤ 1 % of a core, ready ≤ 2 s" : "96 MiB"))} | " +
                string.Join(" | ", results.Zip(runs, (result, run) => run.Flows <= 5000
                    ? $"{Met(result.HwmKiB <= 48 * 1024)} RSS, {Met(result.CpuPercent <= 1)} CPU, {Met(result.ReadySeconds <= 2)} ready"
                    : $"{Met(result.HwmKiB <= 96 * 1024)} RSS")) + " |");
            return 0;
        }
        finally
        {
            publish?.Dispose();
        }
    }

    private static string Met(bool met) => met ? "met" : "**not met**";

    /// <summary>The collector published as its image does, with <paramref name="properties"/> added.</summary>
    private static async Task<string> PublishAsync(string work, string[] properties)
    {
        var output = Path.Combine(work, "app");
        var architecture = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();
        var start = new ProcessStartInfo("dotnet", [
            "publish", Path.Combine(Repo.Root, "services", "collector", "Egressd.Collector.csproj"),
            "-c", "Release", "-a", architecture, "-o", output, "-p:UseAppHost=false", .. properties])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Console.WriteLine($"Publishing the collector as its image does: dotnet {string.Join(' ', start.ArgumentList)}");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet publish did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        }

        return output;
    }
}
