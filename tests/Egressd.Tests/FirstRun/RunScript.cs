using System.Diagnostics;
using System.Text;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.FirstRun;

/// <summary>
/// <c>./run.sh</c> as a user starts it, in a session of its own (so a test can kill -9 all of it
/// at once, as a crash would), with its terminal output captured.
/// </summary>
internal sealed class RunScript : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly StringBuilder error = new();

    private RunScript(Process process)
    {
        this.process = process;
    }

    public int Pid => process.Id;

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public string Error
    {
        get
        {
            lock (error)
            {
                return error.ToString();
            }
        }
    }

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    /// <summary>Starts run.sh with <paramref name="arguments"/> and the given environment changes (null removes one).</summary>
    public static RunScript Start(IReadOnlyDictionary<string, string?> environment, params string[] arguments) =>
        Start("setsid", [Repo.Path("run.sh"), .. arguments], environment);

    public static RunScript Start(string file, string[] arguments, IReadOnlyDictionary<string, string?> environment, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Repo.Root,
        };
        // The test's own settings (a broker address, say) are not run.sh's.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Egressd__", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        var process = Process.Start(start)!;
        var script = new RunScript(process);
        process.OutputDataReceived += (_, e) => Append(script.output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(script.error, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return script;
    }

    /// <summary>Runs it to the end (at most <paramref name="timeout"/>).</summary>
    public static async Task<RunScript> RunAsync(TimeSpan timeout, IReadOnlyDictionary<string, string?> environment, params string[] arguments)
    {
        var script = Start(environment, arguments);
        await script.WaitAsync(timeout);
        return script;
    }

    public async Task WaitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"run.sh did not end in {timeout}; output:\n{Output}\nerrors:\n{Error}");
        }
    }

    /// <summary>Ctrl-C's cousin: SIGTERM to run.sh only, which stops egressd and cleans up.</summary>
    public void Terminate() => Shell.TryRun("kill", "-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>
    /// SIGTERM to run.sh and everything it started at once, as timeout(1) or a service manager stops a
    /// process group, then to run.sh once more, as an impatient user does: it still cleans up.
    /// </summary>
    public void TerminateSessionTwice()
    {
        Shell.TryRun("kill", "-TERM", "--", "-" + Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Terminate();
    }

    /// <summary>A crash of everything run.sh started in its session: SIGKILL, nothing cleans up.</summary>
    public void KillSession() => Shell.TryRun("kill", "-KILL", "--", "-" + Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The lines run.sh and egressd wrote to standard error, without blanks.</summary>
    public IReadOnlyList<string> ErrorLines() =>
        Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public void Dispose()
    {
        if (!process.HasExited)
        {
            KillSession();
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        process.Dispose();
    }

    private static void Append(StringBuilder into, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (into)
        {
            into.AppendLine(line);
        }
    }
}
