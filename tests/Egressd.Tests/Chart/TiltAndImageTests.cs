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
            env = {name: stub(name) for name in ["load", "allow_k8s_contexts", "local_resource", "docker_build_with_restart",
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
    public async Task The_Dockerfile_publish_command_runs(string service)
    {
        var dockerfile = File.ReadAllText(Repo.Path("deploy", "docker", service + ".Dockerfile"));
        var run = PublishLine().Match(dockerfile);
        Assert.True(run.Success, $"deploy/docker/{service}.Dockerfile has no RUN dotnet publish line");
        Assert.Contains("WORKDIR /src\nCOPY . .", dockerfile, StringComparison.Ordinal);
        Assert.Matches(@"USER (0|10001:10001)", dockerfile);
        Assert.Equal(service == "collector", dockerfile.Contains("USER 0", StringComparison.Ordinal));

        // The same arguments, from the repository root (the image's /src), into a temporary directory.
        var args = run.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        var output = args.IndexOf("-o");
        Assert.True(output >= 0 && args[output + 1] == "/app", "the publish writes to /app, which the runtime stage copies");
        var temp = Directory.CreateTempSubdirectory($"egressd-publish-{service}-").FullName;
        args[output + 1] = temp;
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo("dotnet", ["publish", .. args])
            {
                WorkingDirectory = Repo.Root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = System.Diagnostics.Process.Start(start)!;
            var said = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"dotnet publish {string.Join(' ', args)}:\n{await said}\n{await error}");

            // What the ENTRYPOINT runs is there.
            var entry = EntrypointDll().Match(dockerfile).Groups[1].Value;
            Assert.True(File.Exists(Path.Combine(temp, entry)), $"{entry} is not in the published output");
            Assert.True(File.Exists(Path.Combine(temp, Path.ChangeExtension(entry, ".runtimeconfig.json"))));
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    [GeneratedRegex(@"^RUN dotnet publish (.+)$", RegexOptions.Multiline)]
    private static partial Regex PublishLine();

    [GeneratedRegex(@"^ENTRYPOINT \[""dotnet"", ""([^""]+)""", RegexOptions.Multiline)]
    private static partial Regex EntrypointDll();
}
