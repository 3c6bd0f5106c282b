using System.Globalization;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.FirstRun;

/// <summary>sudo ./run.sh leaves what it built and wrote to the user who ran sudo, not to root.</summary>
[Collection(RunScriptCollection.Name)]
public sealed class RunOwnershipTests
{
    private const int Nobody = 65534;

    [Fact]
    [Trait("Category", "Slow")]
    public async Task A_run_under_sudo_gives_the_build_output_and_its_folder_back_to_the_user()
    {
        NetnsLab.RequireRoot();
        var netns = "egt-owner-" + Guid.NewGuid().ToString("N")[..6];
        Shell.Run("ip", "netns", "add", netns);
        var directory = Directory.CreateTempSubdirectory("egressd-runsh-").FullName;
        var port = FreePort.Next();
        string[] built = [Repo.Path("services", "local", "bin"), Repo.Path("services", "local", "obj"), Repo.Path("services", "collector", "bin"), Repo.Path(".egressd")];
        try
        {
            using var run = RunScript.Start(new Dictionary<string, string?>
            {
                ["SUDO_UID"] = Nobody.ToString(CultureInfo.InvariantCulture),
                ["SUDO_GID"] = Nobody.ToString(CultureInfo.InvariantCulture),
                ["Egressd__Http__Port"] = port.ToString(CultureInfo.InvariantCulture),
                ["Egressd__Collector__Netns"] = "/run/netns/" + netns,
                ["Egressd__Collector__StateDirectory"] = Path.Combine(directory, "collector"),
                ["Egressd__Exporter__FlowLog__Path"] = Path.Combine(directory, "flows.jsonl"),
            }, "--quiet");

            Assert.True(await Eventually.TrueAsync(() => run.HasExited || run.Output.Contains("egressd is running", StringComparison.Ordinal), TimeSpan.FromMinutes(4)),
                "no banner:\n" + run.Output + run.Error);
            run.Terminate();
            await run.WaitAsync(TimeSpan.FromSeconds(60));

            foreach (var path in built)
            {
                Assert.True(Owner(path) == Nobody, $"{path} is owned by uid {Owner(path)}, not the sudo user");
            }
        }
        finally
        {
            // Back to whoever runs the suite, so later builds here are not affected.
            foreach (var path in built)
            {
                Shell.TryRun("chown", "-R", "-h", $"{Environment.GetEnvironmentVariable("SUDO_UID") ?? "0"}:{Environment.GetEnvironmentVariable("SUDO_GID") ?? "0"}", path);
            }

            Shell.TryRun("ip", "netns", "del", netns);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static int Owner(string path) => int.Parse(Shell.Run("stat", "-c", "%u", path).Trim(), CultureInfo.InvariantCulture);
}
