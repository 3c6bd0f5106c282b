using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Egressd.Benchmarks;

/// <summary>
/// What a benchmark has set up outside its own process (services, a broker, memory cgroups, work
/// directories), undone when the benchmark is stopped by Ctrl+C or SIGTERM. Its own
/// <c>finally</c> blocks do not run then: a stopped run used to leave its services running,
/// holding their ports, with their cgroups and copies of the runtime behind.
/// </summary>
internal static class Teardown
{
    private static readonly ConcurrentDictionary<long, (string What, Action Undo)> Pending = new();
    private static long next;

    /// <summary>Registers <paramref name="undo"/> until the returned handle is disposed (the run undid it itself).</summary>
    public static IDisposable Add(string what, Action undo)
    {
        var id = Interlocked.Increment(ref next);
        Pending[id] = (what, undo);
        return new Registration(id);
    }

    /// <summary>Undoes everything still registered, newest first, when SIGINT or SIGTERM arrives, then exits.</summary>
    public static IDisposable OnSignals()
    {
        var registrations = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }
            .Select(signal => PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                UndoAll(context.Signal.ToString());
                Environment.Exit(context.Signal == PosixSignal.SIGINT ? 130 : 143);
            }))
            .ToArray();
        return new Signals(registrations);
    }

    private static void UndoAll(string signal)
    {
        Console.Error.WriteLine($"{signal}: stopping what this benchmark started");
        foreach (var id in Pending.Keys.OrderDescending())
        {
            if (Pending.TryRemove(id, out var entry))
            {
                try
                {
                    entry.Undo();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    Console.Error.WriteLine($"could not undo {entry.What}: {ex.Message}");
                }
            }
        }
    }

    private sealed class Registration(long id) : IDisposable
    {
        public void Dispose() => Pending.TryRemove(id, out _);
    }

    private sealed class Signals(PosixSignalRegistration[] registrations) : IDisposable
    {
        public void Dispose()
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }
        }
    }
}
