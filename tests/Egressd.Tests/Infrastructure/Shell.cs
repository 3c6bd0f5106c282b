using System.Diagnostics;

namespace Egressd.Tests.Infrastructure;

internal static class Shell
{
    /// <summary>Runs a command, returns its standard output; throws with its error output when it fails.</summary>
    public static string Run(string file, params string[] args) => Run(TimeSpan.FromSeconds(60), file, args);

    /// <summary>As <see cref="Run(string, string[])"/>, for a command that may take longer than a minute.</summary>
    public static string Run(TimeSpan timeout, string file, params string[] args)
    {
        var (code, output, error) = TryRun(timeout, file, args);
        return code == 0 ? output : throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {code}: {error.Trim()}");
    }

    public static (int Code, string Output, string Error) TryRun(string file, params string[] args) => TryRun(TimeSpan.FromSeconds(60), file, args);

    public static (int Code, string Output, string Error) TryRun(TimeSpan timeout, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout.TotalSeconds} s");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}
