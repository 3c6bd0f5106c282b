using System.Diagnostics;
using System.Text.Json.Nodes;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Chart;

/// <summary>
/// The egressd chart rendered by a real helm (the static binary of the npm kubectl layer that
/// helm/test/install-tools.sh installs), and its objects checked by helm/test/validate-manifests.mjs
/// against the Kubernetes schemas of kubernetes-models.
/// </summary>
internal static class HelmChart
{
    public const string Release = "egressd";

    public const string Namespace = "egressd";

    private static readonly Lazy<string> ToolsDirectory = new(Install);

    public static string ChartPath => Repo.Path("helm", "egressd");

    public static string Tools => ToolsDirectory.Value;

    public static string Helm => Path.Combine(Tools, "bin", "helm");

    /// <summary>Every values file in the repository a user can pass to the chart (the chart's own defaults aside).</summary>
    public static IReadOnlyList<string> ValuesFiles() =>
        [.. new[] { Repo.Path("helm"), Repo.Path("tilt") }
            .SelectMany(dir => Directory.EnumerateFiles(dir, "values*.yaml", SearchOption.AllDirectories))
            .Where(f => f != Path.Combine(ChartPath, "values.yaml") && !f.Contains($"{Path.DirectorySeparatorChar}charts{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Repo.Root, f))
            .Order(StringComparer.Ordinal)];

    /// <summary>helm lint with the given arguments; the exit code and what it said.</summary>
    public static (int Code, string Output) Lint(params string[] args) =>
        Run(Helm, ["lint", ChartPath, "--namespace", Namespace, .. args]);

    /// <summary>The CRDs of the Prometheus Operator, as `helm template --api-versions` tells the chart a cluster serves them.</summary>
    public static readonly string[] WithPrometheusOperator = ["--api-versions", "monitoring.coreos.com/v1/PodMonitor", "--api-versions", "monitoring.coreos.com/v1/PrometheusRule"];

    /// <summary>helm template's output as text; throws with helm's message when it refuses.</summary>
    public static string TemplateText(params string[] args)
    {
        var (code, output) = Run(Helm, ["template", Release, ChartPath, "--namespace", Namespace, .. args], stderrToo: false);
        return code == 0 ? output : throw new InvalidOperationException($"helm template {string.Join(' ', args)} failed:\n{output}");
    }

    /// <summary>Renders the chart; throws with helm's message when it refuses.</summary>
    public static Rendered Template(params string[] args)
    {
        var output = TemplateText(args);

        var dir = Directory.CreateTempSubdirectory("egressd-chart-").FullName;
        var yaml = Path.Combine(dir, "rendered.yaml");
        var json = Path.Combine(dir, "rendered.json");
        File.WriteAllText(yaml, output);
        var (validation, said) = Run("node", [Repo.Path("helm", "test", "validate-manifests.mjs"), yaml, json]);
        var objects = File.Exists(json)
            ? JsonNode.Parse(File.ReadAllText(json))!.AsArray().Select(o => o!.AsObject()).ToList()
            : [];
        Directory.Delete(dir, recursive: true);
        return new Rendered(objects, validation, said);
    }

    /// <summary>Values-file arguments for a repository-relative path.</summary>
    public static string[] WithValues(string? relative) => relative is null ? [] : ["-f", Repo.Path(relative)];

    private static string Install()
    {
        var (code, output) = Run(Repo.Path("helm", "test", "install-tools.sh"), [], stderrToo: false, timeout: TimeSpan.FromMinutes(10));
        var dir = output.Trim().Split('\n').Last();
        return code == 0 && File.Exists(Path.Combine(dir, "bin", "helm"))
            ? dir
            : throw new InvalidOperationException($"helm/test/install-tools.sh failed (it needs npm and unzip; sudo ./test.sh installs them):\n{output}");
    }

    internal static (int Code, string Output) Run(string file, string[] args, bool stderrToo = true, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (ToolsDirectory.IsValueCreated)
        {
            start.Environment["EGRESSD_HELM_TOOLS"] = ToolsDirectory.Value;
        }

        // helm keeps nothing between runs: no repositories, no cache in the user's home.
        var home = Path.Combine(Path.GetTempPath(), "egressd-helm-home");
        start.Environment["HELM_CACHE_HOME"] = Path.Combine(home, "cache");
        start.Environment["HELM_CONFIG_HOME"] = Path.Combine(home, "config");
        start.Environment["HELM_DATA_HOME"] = Path.Combine(home, "data");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish");
        }

        return (process.ExitCode, stderrToo ? output.Result + error.Result : output.Result + (process.ExitCode == 0 ? "" : error.Result));
    }
}

/// <summary>The objects a chart rendered, and what the schema check said of them.</summary>
internal sealed record Rendered(IReadOnlyList<JsonObject> Objects, int ValidationCode, string ValidationOutput)
{
    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => (string?)o["kind"] == kind);

    public JsonObject Single(string kind, string name) =>
        Objects.SingleOrDefault(o => (string?)o["kind"] == kind && (string?)o["metadata"]!["name"] == name)
        ?? throw new InvalidOperationException($"no {kind} {name} among {string.Join(", ", Objects.Select(o => $"{o["kind"]}/{o["metadata"]!["name"]}"))}");

    /// <summary>Every workload's pod template, with the workload's kind and name.</summary>
    public IEnumerable<(string Kind, string Name, JsonObject PodSpec)> PodSpecs() =>
        Objects.Where(o => (string?)o["kind"] is "Deployment" or "DaemonSet" or "StatefulSet" or "Job")
            .Select(o => ((string)o["kind"]!, (string)o["metadata"]!["name"]!, o["spec"]!["template"]!["spec"]!.AsObject()));
}
