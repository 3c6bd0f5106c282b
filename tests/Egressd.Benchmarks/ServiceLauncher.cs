using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Egressd.Benchmarks;

/// <summary>
/// Starts a service from its Release build as a process of its own, as in a pod with its budget as
/// the memory limit: from files of its own (its image), workstation GC and the heap capped at a share
/// of the budget, and (root) the budget as a memory cgroup's limit, as the kubelet sets it
/// (<see cref="PodMemory"/>). Its output is
/// drained, so a chatty service never blocks on a full pipe, and its last lines are kept for the
/// report when it dies (a budget too small shows there).
/// </summary>
internal static class ServiceLauncher
{
    private const int TailLines = 8;

    private static readonly ConditionalWeakTable<Process, ConcurrentQueue<string>> Tails = [];
    private static readonly ConditionalWeakTable<Process, PodMemory> Pods = [];
    private static readonly ConditionalWeakTable<Process, IDisposable> Undo = [];
    private static readonly ConditionalWeakTable<Process, DirectoryInfo> Scratch = [];

    /// <param name="settings">egressd settings (<c>Egressd:...</c>), passed as environment variables.</param>
    /// <param name="environment">Other environment variables, as they are (runtime knobs).</param>
    /// <param name="inPod">
    /// Run the service as in a pod: the API server's address in the environment and the service account's files (this
    /// directory) at the path the kubelet mounts them, in a private mount namespace (root), so nothing else sees them.
    /// </param>
    /// <param name="memoryLimit">Run it in a memory cgroup with its budget as the limit (root); without, it still runs from files of its own (<see cref="PodMemory"/>).</param>
    /// <param name="buildDirectory">The service's files (a <c>dotnet publish</c> output); its Release build when none.</param>
    public static Process Start(
        string service,
        string assembly,
        long budgetMiB,
        int heapPercent,
        IEnumerable<KeyValuePair<string, string>> settings,
        IEnumerable<KeyValuePair<string, string>>? environment = null,
        (string ServiceAccount, int ApiPort)? inPod = null,
        bool memoryLimit = false,
        string? buildDirectory = null)
    {
        var build = buildDirectory ?? Path.Combine(Repo.Root, "services", service, "bin", "Release", "net10.0");
        var memory = PodMemory.Create(service, build, memoryLimit ? budgetMiB : null);
        var dll = Path.Combine(memory.AppDirectory, assembly + ".dll");
        // A native (NativeAOT) build is its own executable, without the runtime's host.
        var native = !File.Exists(dll) && File.Exists(Path.Combine(memory.AppDirectory, assembly));
        dll = native ? Path.Combine(memory.AppDirectory, assembly) : dll;
        var exec = native ? "exec \"$1\"" : "exec \"$2\" \"$1\"";
        // The shell joins the pod's cgroup before anything is mapped, then each step execs the next,
        // so the process started is the service itself (its pid, its peak RSS). $0: the service
        // account's files, $1: the service, $2: the runtime's host, $3: the cgroup's process list,
        // $4: the pod's copy of the system libraries (only for what the shell execs).
        var join = (memory.Procs is null ? "" : "echo $$ > \"$3\" && ") + "export LD_LIBRARY_PATH=\"$4\" && ";
        string[] arguments = [inPod?.ServiceAccount ?? "", dll, memory.Dotnet, memory.Procs ?? "", memory.Libraries];
        var start = inPod is not null
            ? new ProcessStartInfo("unshare", [
                "--mount", "--propagation", "private", "sh", "-c",
                join + "mount -t tmpfs -o size=1m tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && cp \"$0\"/* /run/secrets/kubernetes.io/serviceaccount/ && " + exec,
                .. arguments])
            : new ProcessStartInfo("sh", ["-c", join + exec, .. arguments]);
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        if (inPod is { } api)
        {
            start.Environment["KUBERNETES_SERVICE_HOST"] = "127.0.0.1";
            start.Environment["KUBERNETES_SERVICE_PORT"] = api.ApiPort.ToString(CultureInfo.InvariantCulture);
        }

        // The runtime's debugger pipes and diagnostics socket go to TMPDIR, and a killed service
        // leaves them behind: in a directory of its own, removed when it stops. (dotnet-counters
        // and dotnet-trace find the service with the same TMPDIR.)
        var scratch = Directory.CreateTempSubdirectory($"egressd-bench-{service}-");
        start.Environment["TMPDIR"] = scratch.FullName;
        start.Environment["DOTNET_gcServer"] = "0";
        if (service == "collector")
        {
            // As its image sets it (deploy/docker/collector.Dockerfile).
            start.Environment["MALLOC_ARENA_MAX"] = "2";
        }

        start.Environment["DOTNET_GCHeapHardLimit"] = (budgetMiB * heapPercent / 100 * 1024 * 1024).ToString("X", CultureInfo.InvariantCulture);
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        foreach (var (key, value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{dll} did not start");
        var tail = new ConcurrentQueue<string>();
        Tails.AddOrUpdate(process, tail);
        Pods.AddOrUpdate(process, memory);

        Scratch.AddOrUpdate(process, scratch);
        Undo.AddOrUpdate(process, Teardown.Add($"the {service}", () =>
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
            memory.Dispose();
            scratch.Delete(recursive: true);
        }));

        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                tail.Enqueue(line);
                while (tail.Count > TailLines && tail.TryDequeue(out string? _))
                {
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                Console.Error.WriteLine($"[{service}] {line}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>What the service said last, and whether its pod's limit killed it.</summary>
    public static string Tail(Process process) =>
        (Memory(process) is { } memory && memory.Read() is { OomKills: > 0 } stats
            ? $"killed for memory at its pod's {memory.LimitMiB} MiB limit ({stats.OomKills} OOM kill(s))\n"
            : "") +
        (Tails.TryGetValue(process, out var tail) ? string.Join("\n", tail) : "");

    /// <summary>The service's pod memory: its files, and its cgroup when it runs under a limit.</summary>
    public static PodMemory? Memory(Process process) => Pods.TryGetValue(process, out var memory) ? memory : null;

    /// <summary>Stops the service and removes its pod's cgroup and files.</summary>
    public static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
        if (Memory(process) is { } memory)
        {
            memory.Dispose();
            Pods.Remove(process);
        }

        if (Undo.TryGetValue(process, out var undo))
        {
            undo.Dispose();
            Undo.Remove(process);
        }

        if (Scratch.TryGetValue(process, out var scratch))
        {
            scratch.Delete(recursive: true);
            Scratch.Remove(process);
        }

        process.Dispose();
    }

    /// <summary>The settings that point a service at <paramref name="broker"/>.</summary>
    public static Dictionary<string, string> BusSettings(Uri broker)
    {
        var (user, password) = broker.UserInfo.Split(':') is [var u, var p] ? (Uri.UnescapeDataString(u), Uri.UnescapeDataString(p)) : ("guest", "guest");
        return new()
        {
            ["Egressd:Bus:Transport"] = "rabbitmq",
            ["Egressd:Bus:RabbitMq:Host"] = broker.Host,
            ["Egressd:Bus:RabbitMq:Port"] = broker.Port.ToString(CultureInfo.InvariantCulture),
            ["Egressd:Bus:RabbitMq:VirtualHost"] = broker.AbsolutePath is "/" or "" ? "/" : Uri.UnescapeDataString(broker.AbsolutePath.TrimStart('/')),
            ["Egressd:Bus:RabbitMq:Username"] = user,
            ["Egressd:Bus:RabbitMq:Password"] = password,
        };
    }
}
