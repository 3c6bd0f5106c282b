using System.Text.RegularExpressions;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Chart;

/// <summary>The Tiltfile parses and calls only Tilt's own functions; each Dockerfile's publish command runs.</summary>
public sealed partial class TiltAndImageTests
{
    [Fact]
    public void The_Tiltfile_parses_as_Starlark_and_runs_against_stubbed_Tilt_builtins()
    {
        // Starlark is a subset of Python: python3 parses it, and runs it with Tilt's functions
        // stubbed, so a typo in a name or a wrong call shape fails here.
        const string Script = """
            import ast, os, sys
            path = sys.argv[1]
            source = open(path).read()
            ast.parse(source, path)
            calls = []
            def stub(name):
                def f(*args, **kwargs):
                    calls.append(name)
                    return name
                return f
            class Config: main_dir = os.path.dirname(path)
            env = {name: stub(name) for name in ["load", "allow_k8s_contexts", "local_resource", "docker_build_with_restart", "local",
                   "sync", "k8s_yaml", "helm", "k8s_resource", "fail", "docker_build", "run"]}
            env["config"] = Config
            env["os"] = os
            os.environ.setdefault("DOTNET_IMAGES", "images.example/dotnet")
            exec(compile(source, path, "exec"), env)
            print(" ".join(calls))
            """;
        var (code, output) = HelmChart.Run("python3", ["-c", Script, Repo.Path("tilt", "Tiltfile")]);
        Assert.True(code == 0, output);
        Assert.Contains("k8s_yaml", output, StringComparison.Ordinal);
        Assert.Equal(3, output.Split(' ').Count(c => c == "docker_build_with_restart"));
        Assert.DoesNotContain("fail", output.Split(' '));

        var tiltfile = File.ReadAllText(Repo.Path("tilt", "Tiltfile"));
        Assert.Contains("values-tilt.yaml", tiltfile, StringComparison.Ordinal);
        foreach (var service in new[] { "collector", "enricher", "exporter" })
        {
            Assert.True(File.Exists(Repo.Path("deploy", "docker", service + ".Dockerfile")));
        }
    }

    public static TheoryData<string> Services() => ["collector", "enricher", "exporter"];

    [Theory]
    [MemberData(nameof(Services))]
    [Trait("Category", "Slow")]
    public async Task The_Dockerfile_restore_and_publish_commands_run(string service)
    {
        var dockerfile = File.ReadAllText(Repo.Path("deploy", "docker", service + ".Dockerfile"));
        // A plain docker build has a DOTNET_IMAGES; the SDK runs on the build machine's platform.
        Assert.Matches(@"(?m)^ARG DOTNET_IMAGES=\S+$", dockerfile);
        Assert.Matches(@"(?m)^FROM --platform=\$BUILDPLATFORM \$\{DOTNET_IMAGES\}/sdk:", dockerfile);
        Assert.Matches(@"(?m)^ARG TARGETARCH$", dockerfile);
        var restore = RestoreLine().Match(dockerfile);
        var run = PublishLine().Match(dockerfile);
        Assert.True(restore.Success && run.Success, $"deploy/docker/{service}.Dockerfile has no RUN dotnet restore and publish lines");
        // The restore is its own layer, before the sources come in.
        Assert.True(restore.Index < dockerfile.IndexOf("COPY . .", StringComparison.Ordinal) && dockerfile.IndexOf("COPY . .", StringComparison.Ordinal) < run.Index);
        Assert.Matches(@"USER (0|10001:10001)", dockerfile);
        Assert.Equal(service == "collector", dockerfile.Contains("USER 0", StringComparison.Ordinal));

        // What the restore layer copies is what the restore needs: it runs from those files alone.
        var layer = Directory.CreateTempSubdirectory($"egressd-restore-{service}-").FullName;
        var temp = Directory.CreateTempSubdirectory($"egressd-publish-{service}-").FullName;
        try
        {
            foreach (Match copy in CopyLine().Matches(dockerfile[..restore.Index]))
            {
                var parts = copy.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var target = Path.Combine(layer, parts[^1].TrimEnd('/') is "." ? "" : parts[^1]);
                Directory.CreateDirectory(target);
                foreach (var file in parts[..^1])
                {
                    File.Copy(Repo.Path(file), Path.Combine(target, Path.GetFileName(file)));
                }
            }

            // The build machine's architecture, as Docker names it (TARGETARCH).
            var arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64";
            string[] Args(Match line) => [.. line.Groups[1].Value.Replace("$TARGETARCH", arch, StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries)];
            await DotnetAsync(["restore", .. Args(restore)], layer);

            // The publish, from the repository root (the image's /src after COPY . .), into a temporary directory.
            var args = Args(run).ToList();
            var output = args.IndexOf("-o");
            Assert.True(output >= 0 && args[output + 1] == "/app", "the publish writes to /app, which the runtime stage copies");
            args[output + 1] = temp;
            args.Remove("--no-restore");
            await DotnetAsync(["publish", .. args], Repo.Root);

            // What the ENTRYPOINT runs is there.
            var entry = EntrypointDll().Match(dockerfile).Groups[1].Value;
            Assert.True(File.Exists(Path.Combine(temp, entry)), $"{entry} is not in the published output");
            Assert.True(File.Exists(Path.Combine(temp, Path.ChangeExtension(entry, ".runtimeconfig.json"))));
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
            Directory.Delete(layer, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    [Trait("Category", "Slow")]
    public async Task Tilt_live_update_syncs_a_published_build_into_a_path_the_container_can_write(string service)
    {
        // The Tiltfile run against stubs that record each call's arguments.
        const string Script = """
            import ast, json, os, sys
            path, service = sys.argv[1], sys.argv[2]
            calls = []
            def stub(name):
                def f(*args, **kwargs):
                    calls.append({"fn": name, "args": [a for a in args if isinstance(a, (str, list, dict))], "kwargs": {k: v for k, v in kwargs.items() if isinstance(v, (str, list, dict, bool))}})
                    return {"fn": name, "args": list(args)}
                return f
            class Config: main_dir = os.path.dirname(path)
            env = {name: stub(name) for name in ["load", "allow_k8s_contexts", "local_resource", "docker_build_with_restart", "local",
                   "sync", "k8s_yaml", "helm", "k8s_resource", "fail", "docker_build", "run"]}
            env["config"] = Config
            env["os"] = os
            os.environ.setdefault("DOTNET_IMAGES", "images.example/dotnet")
            exec(compile(open(path).read(), path, "exec"), env)
            print(json.dumps(calls))
            """;
        var (code, output) = HelmChart.Run("python3", ["-c", Script, Repo.Path("tilt", "Tiltfile"), service]);
        Assert.True(code == 0, output);
        var calls = System.Text.Json.Nodes.JsonNode.Parse(output)!.AsArray().Select(c => c!.AsObject()).ToList();
        var build = calls.Single(c => (string?)c["fn"] == "docker_build_with_restart" && (string?)c["args"]![0] == "egressd/" + service);
        var publish = calls.Single(c => (string?)c["fn"] == "local_resource" && (string?)c["args"]![0] == "publish-" + service);
        var context = (string)build["kwargs"]!["context"]!;
        var sync = build["kwargs"]!["live_update"]!.AsArray().Single()!["args"]!.AsArray();
        var (source, target) = ((string)sync[0]!, (string)sync[1]!);
        Assert.Null(build["kwargs"]!["only"]);
        Assert.Null(build["kwargs"]!["ignore"]);

        // The sync source is inside the build context and nothing there excludes it.
        Assert.True(source == context || source.StartsWith(context + "/", StringComparison.Ordinal), $"the sync source {source} is outside the build context {context}");
        Assert.False(File.Exists(Path.Combine(context, ".dockerignore")), "a .dockerignore in the context would hide synced files");

        // It exists after the publish the Tiltfile runs (the same command), holding the service.
        var cmd = ((string)publish["kwargs"]!["cmd"]!).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("dotnet", cmd[0]);
        await DotnetAsync(cmd[1..], Repo.Root);
        var assembly = service switch
        {
            "collector" => "Egressd.Collector",
            "enricher" => "Egressd.Enricher",
            _ => "Egressd.Exporter",
        };
        Assert.True(File.Exists(Path.Combine(source, assembly + ".dll")), $"{source} has no {assembly}.dll after the publish");
        Assert.Equal(["dotnet", $"{target}/{assembly}.dll"], build["kwargs"]!["entrypoint"]!.AsArray().Select(a => (string)a!));

        // The target belongs to the user the container runs as, and the chart leaves it writable under Tilt's values.
        var dockerfile = (string)build["kwargs"]!["dockerfile_contents"]!;
        var user = Regex.Match(dockerfile, @"(?m)^USER (\S+)$").Groups[1].Value;
        Assert.Contains($"COPY --chown={user} . {target}", dockerfile, StringComparison.Ordinal);
        var uid = user.Split(':')[0];
        var rendered = HelmChart.Template("-f", Repo.Path("tilt", "values-tilt.yaml"));
        var spec = rendered.PodSpecs().Single(p => p.Name == "egressd-" + service).PodSpec;
        var container = spec["containers"]![0]!;
        Assert.False(container["securityContext"]!["readOnlyRootFilesystem"]!.GetValue<bool>(), "the live update cannot write a read-only root file system");
        var runAs = (container["securityContext"]!["runAsUser"] ?? spec["securityContext"]?["runAsUser"])?.ToString() ?? uid;
        Assert.Equal(uid, runAs);
        Assert.DoesNotContain(container["volumeMounts"]!.AsArray(), m => (string?)m!["mountPath"] == target);
    }

    private static async Task DotnetAsync(string[] args, string directory)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", args)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        var said = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} in {directory}:\n{await said}\n{await error}");
    }

    [GeneratedRegex(@"^RUN dotnet restore (.+)$", RegexOptions.Multiline)]
    private static partial Regex RestoreLine();

    [GeneratedRegex(@"^COPY (?!--)(.+)$", RegexOptions.Multiline)]
    private static partial Regex CopyLine();

    [GeneratedRegex(@"^RUN dotnet publish (.+)$", RegexOptions.Multiline)]
    private static partial Regex PublishLine();

    [GeneratedRegex(@"^ENTRYPOINT \[""dotnet"", ""([^""]+)""", RegexOptions.Multiline)]
    private static partial Regex EntrypointDll();
}
