using System.Diagnostics;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.FirstRun;

/// <summary>The Release build run.sh runs; made once for the tests that start it with --no-build.</summary>
public sealed class ReleaseBuild
{
    public ReleaseBuild()
    {
        var start = new ProcessStartInfo("dotnet", ["build", Repo.Path("services", "local", "Egressd.Local.csproj"), "-c", "Release", "-nologo", "-v", "q"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var build = Process.Start(start)!;
        var output = build.StandardOutput.ReadToEndAsync();
        var error = build.StandardError.ReadToEndAsync();
        // A cold build restores packages first.
        if (!build.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            build.Kill(entireProcessTree: true);
            throw new TimeoutException("the Release build run.sh uses took over 5 minutes");
        }

        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException($"the Release build run.sh uses failed: {output.Result}{error.Result}");
        }
    }
}
