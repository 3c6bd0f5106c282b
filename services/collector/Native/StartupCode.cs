using System.Runtime.Versioning;

namespace Egressd.Collector.Native;

/// <summary>
/// The code that started the collector (the host, its configuration, the bus's topology, TLS and the
/// pod watch) does not run again, but its pages stay in the collector's RSS until the kernel runs
/// short of memory. Handed back once the collector runs, before its first read, they come back only
/// where they are used again, a page at a time, most of them in the first seconds: the collector's
/// memory is then what it uses, not what it once ran, for the cost of reading those pages back from
/// disk (docs/BENCHMARKS.md, the collector-memory benchmark).
/// Only for the collector's own process (<see cref="CollectorHostingExtensions.AddCollector"/>):
/// where it shares a process (the local runner, tests), its start is not the process's.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class StartupCode(ILogger<StartupCode> logger)
{
    public void GiveBack()
    {
        var before = Environment.WorkingSet;
        int mappings = 0, pagedOut = 0;
        try
        {
            foreach (var mapping in FileMapping.ReadOnly(File.ReadLines("/proc/self/maps")))
            {
                mappings++;
                pagedOut += mapping.PageOut() == 0 ? 1 : 0;
            }
        }
        catch (IOException ex)
        {
            LogKept(logger, ex.Message);
            return;
        }

        LogGivenBack(logger, before >> 20, Environment.WorkingSet >> 20, pagedOut, mappings);
    }

    [LoggerMessage(EventId = 2108, Level = LogLevel.Information,
        Message = "Start-up code handed back to the kernel: resident memory {BeforeMiB} → {AfterMiB} MiB (advice taken for {PagedOut} of {Mappings} read-only file mappings)")]
    private static partial void LogGivenBack(ILogger logger, long beforeMiB, long afterMiB, int pagedOut, int mappings);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Warning, Message = "Start-up code kept resident: /proc/self/maps could not be read ({Reason})")]
    private static partial void LogKept(ILogger logger, string reason);
}
