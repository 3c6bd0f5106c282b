using System.Globalization;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.FirstRun;

/// <summary><c>./run.sh --view</c> with its output in a file, as a CI job or a user keeping a log has it.</summary>
[Collection(RunScriptCollection.Name)]
public sealed class RunViewTests
{
    private const string Banner = "egressd is running";

    /// <summary>A window's table begins with this line (see TerminalView).</summary>
    private const string WindowHeader = "egressd · node ";

    [Fact]
    [Trait("Category", "Slow")]
    public async Task View_redirected_to_a_file_writes_its_tables_after_the_banner_run_sh_printed_there()
    {
        var directory = Directory.CreateTempSubdirectory("egressd-runsh-view-").FullName;
        var log = Path.Combine(directory, "run.log");
        var port = FreePort.Next();
        try
        {
            // `./run.sh --view > run.log`: the shell opens the file without O_APPEND, run.sh writes the
            // banner through it, and the view (a process run.sh starts) must write after that.
            using var run = RunScript.Start("setsid", ["bash", "-c", "exec \"$0\" --no-build --view > \"$1\"", Repo.Path("run.sh"), log], new Dictionary<string, string?>
            {
                ["Egressd__Http__Port"] = port.ToString(CultureInfo.InvariantCulture),
                ["Egressd__Collector__Source"] = "replay",
                ["Egressd__Collector__ReplayFile"] = Repo.SampleFlows,
                ["Egressd__Collector__ReplayLoop"] = "true",
                ["Egressd__Collector__StateDirectory"] = Path.Combine(directory, "collector"),
                ["Egressd__Exporter__FlowLog__Path"] = Path.Combine(directory, "flows.jsonl"),
                ["Egressd__Collector__ReadInterval"] = "00:00:00.500",
            });

            string Written() => File.Exists(log) ? File.ReadAllText(log) : "";
            Assert.True(await Eventually.TrueAsync(() => run.HasExited || Occurrences(Written(), WindowHeader) >= 2, TimeSpan.FromSeconds(90)),
                "no two windows in the file:\n" + Written() + run.Error);
            Assert.False(run.HasExited, Written() + run.Error);
            run.Terminate();
            await run.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(0, run.ExitCode);

            var written = Written();
            // Nothing before the banner (--no-build prints no build line), every window after it, whole.
            Assert.StartsWith(Banner, written, StringComparison.Ordinal);
            var bannerEnd = written.IndexOf("Try: tail -f", StringComparison.Ordinal);
            Assert.True(bannerEnd > 0, "the banner is cut:\n" + written);
            Assert.True(written.IndexOf(WindowHeader, StringComparison.Ordinal) > bannerEnd, "a window is written over the banner:\n" + written);
            Assert.Equal(1, Occurrences(written, Banner));
            Assert.Contains("per class: ", written, StringComparison.Ordinal);
            Assert.Contains("10.244.1.10", written, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static int Occurrences(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
