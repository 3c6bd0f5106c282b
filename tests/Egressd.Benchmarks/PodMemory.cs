using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Egressd.Benchmarks;

/// <summary>
/// A pod's memory as the kernel accounts for it: a copy of the runtime and of the service's build
/// made for it alone and dropped from the page cache, so the code the service maps is its own and
/// charged to it, as a container's image files are charged to its pod; and, with a limit, a memory
/// cgroup whose limit is the service's budget. Without the copy, pages another process read first
/// (the benchmark itself runs on the same runtime and system libraries) would count in the service's
/// RSS but not against its limit, and the service could not give them back. The system libraries
/// (libc, OpenSSL, ...) come from the copy through LD_LIBRARY_PATH; only the dynamic loader itself
/// stays shared. Under
/// the limit the kernel takes back page cache (mapped code it has not used lately, files written)
/// before it kills: only anonymous and shared memory cannot go without swap, which nodes lack.
/// A limit takes cgroup v1 (<c>/sys/fs/cgroup/memory</c>) or v2 with the memory controller, and root.
/// </summary>
internal sealed partial class PodMemory : IDisposable
{
    private const int FadviseDontNeed = 4;
    private const string Prefix = "egressd-bench-";

    /// <summary>Loaded when TLS is first used, maybe not yet by this process.</summary>
    private static readonly string[] OpenSsl = ["libssl.so.3", "libcrypto.so.3"];

    private readonly string? cgroup;
    private readonly bool v1;
    private readonly string image;
    private int disposed;

    private PodMemory(string? cgroup, bool v1, string image, long? limitMiB, string dotnet, string appDirectory, string libraries)
    {
        Libraries = libraries;
        this.cgroup = cgroup;
        this.v1 = v1;
        this.image = image;
        LimitMiB = limitMiB;
        Dotnet = dotnet;
        AppDirectory = appDirectory;
    }

    /// <summary>The memory cgroup's limit; none when the pod has no limit (and no cgroup).</summary>
    public long? LimitMiB { get; }

    /// <summary>The runtime's host in the pod's copy.</summary>
    public string Dotnet { get; }

    /// <summary>The service's build in the pod's copy.</summary>
    public string AppDirectory { get; }

    /// <summary>The system libraries' copy, for LD_LIBRARY_PATH.</summary>
    public string Libraries { get; }

    /// <summary>Write a process id here to put it in the pod's cgroup (its children follow); none without a limit.</summary>
    public string? Procs => cgroup is null ? null : Path.Combine(cgroup, "cgroup.procs");

    public static PodMemory Create(string service, string buildDirectory, long? limitMiB)
    {
        var (cgroup, v1) = limitMiB is { } limit ? CreateCgroup(service, limit) : (null, false);
        var image = Directory.CreateTempSubdirectory($"{Prefix}pod-{service}-").FullName;
        // The runtime the benchmark runs on: shared/Microsoft.NETCore.App/<version>/ under the install root.
        var runtime = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var dotnetRoot = Path.Combine(image, "dotnet");
        CopyDropped(Path.Combine(runtime, "dotnet"), Path.Combine(dotnetRoot, "dotnet"));
        foreach (var part in new[] { "host", Path.Combine("shared", "Microsoft.NETCore.App"), Path.Combine("shared", "Microsoft.AspNetCore.App") })
        {
            CopyTree(Path.Combine(runtime, part), Path.Combine(dotnetRoot, part));
        }

        var app = Path.Combine(image, "app");
        CopyTree(buildDirectory, app);
        var libraries = Path.Combine(image, "lib");
        foreach (var library in SystemLibraries(runtime))
        {
            CopyDropped(library, Path.Combine(libraries, Path.GetFileName(library)));
            // Loaded by their sonames (libstdc++.so.6), links to the file itself (libstdc++.so.6.0.30).
            foreach (var link in Directory.EnumerateFiles(Path.GetDirectoryName(library)!, Path.GetFileName(library).Split(".so")[0] + ".so*"))
            {
                if (File.ResolveLinkTarget(link, returnFinalTarget: true)?.FullName == library && !File.Exists(Path.Combine(libraries, Path.GetFileName(link))))
                {
                    File.CreateSymbolicLink(Path.Combine(libraries, Path.GetFileName(link)), Path.GetFileName(library));
                }
            }
        }

        return new PodMemory(cgroup, v1, image, limitMiB, Path.Combine(dotnetRoot, "dotnet"), app, libraries);
    }

    private static (string Cgroup, bool V1) CreateCgroup(string service, long limitMiB)
    {
        var (root, v1) = Directory.Exists("/sys/fs/cgroup/memory") && File.Exists("/sys/fs/cgroup/memory/memory.limit_in_bytes")
            ? ("/sys/fs/cgroup/memory", true)
            : File.Exists("/sys/fs/cgroup/cgroup.controllers") && File.ReadAllText("/sys/fs/cgroup/cgroup.controllers").Split(' ', '\n').Contains("memory")
                ? ("/sys/fs/cgroup", false)
                : throw new InvalidOperationException("no memory cgroup controller here (neither /sys/fs/cgroup/memory nor cgroup v2 with memory): run with --memory-limit none");
        RemoveStale(root);
        if (!v1 && !File.ReadAllText(Path.Combine(root, "cgroup.subtree_control")).Contains("memory", StringComparison.Ordinal))
        {
            File.WriteAllText(Path.Combine(root, "cgroup.subtree_control"), "+memory");
        }

        var cgroup = Path.Combine(root, $"{Prefix}{service}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..60]);
        Directory.CreateDirectory(cgroup);
        var bytes = (limitMiB << 20).ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(cgroup, v1 ? "memory.limit_in_bytes" : "memory.max"), bytes);
        return (cgroup, v1);
    }

    /// <summary>What the pod's cgroup says now; nothing when it has no limit (and no cgroup).</summary>
    public PodMemoryStats? Read()
    {
        if (cgroup is null)
        {
            return null;
        }

        var stat = File.ReadLines(Path.Combine(cgroup, "memory.stat"))
            .Select(l => l.Split(' ', 2))
            .Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0], kv => long.Parse(kv[1], CultureInfo.InvariantCulture));
        if (v1)
        {
            var oom = File.ReadLines(Path.Combine(cgroup, "memory.oom_control")).Select(l => l.Split(' ')).FirstOrDefault(kv => kv[0] == "oom_kill");
            return new PodMemoryStats(
                Number(File.ReadAllText(Path.Combine(cgroup, "memory.max_usage_in_bytes"))) >> 20,
                (stat["rss"] + stat.GetValueOrDefault("shmem")) >> 20,
                Number(File.ReadAllText(Path.Combine(cgroup, "memory.failcnt"))),
                oom is null ? 0 : Number(oom[1]));
        }

        var events = File.ReadLines(Path.Combine(cgroup, "memory.events")).Select(l => l.Split(' ')).ToDictionary(kv => kv[0], kv => Number(kv[1]));
        return new PodMemoryStats(
            Number(File.ReadAllText(Path.Combine(cgroup, "memory.peak"))) >> 20,
            (stat["anon"] + stat["shmem"]) >> 20,
            events.GetValueOrDefault("max"),
            events.GetValueOrDefault("oom_kill"));
    }

    /// <summary>Once every process in it has exited.</summary>
    public void Dispose()
    {
        // Once: a run stopped by a signal is undone by Teardown while its own finally may get here too.
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        if (cgroup is not null)
        {
            TryRemove(cgroup);
        }

        Directory.Delete(image, recursive: true);
    }

    /// <summary>
    /// The shared libraries a .NET service maps from the system: those this process has mapped
    /// (it runs on the same runtime, and its API server uses TLS), and OpenSSL's beside libc in any
    /// case. Not the dynamic loader, which the kernel maps by its fixed path.
    /// </summary>
    private static IEnumerable<string> SystemLibraries(string runtime)
    {
        var mapped = File.ReadLines("/proc/self/maps")
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 6 && f[5].StartsWith('/') && f[5].Contains(".so", StringComparison.Ordinal))
            .Select(f => f[5])
            .Where(f => !f.StartsWith(runtime, StringComparison.Ordinal) && !Path.GetFileName(f).StartsWith("ld-linux", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        var libc = mapped.FirstOrDefault(f => Path.GetFileName(f) == "libc.so.6") ?? throw new InvalidOperationException("libc.so.6 is not mapped here");
        var openSsl = OpenSsl.Select(n => Path.Combine(Path.GetDirectoryName(libc)!, n)).Where(File.Exists);
        return mapped.Concat(openSsl).DistinctBy(Path.GetFileName);
    }

    private static long Number(string text) => long.Parse(text.Trim(), CultureInfo.InvariantCulture);

    /// <summary>Pods that runs no longer alive left behind (their names carry the benchmark's process id), once empty.</summary>
    private static void RemoveStale(string root)
    {
        foreach (var stale in Directory.EnumerateDirectories(root, Prefix + "*"))
        {
            var owner = Path.GetFileName(stale)[Prefix.Length..].Split('-');
            if (owner.Length > 1 && int.TryParse(owner[1], CultureInfo.InvariantCulture, out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                TryRemove(stale);
            }
        }
    }

    private static void TryRemove(string cgroup)
    {
        try
        {
            // A cgroup goes with rmdir alone (its files are the kernel's), and only once empty.
            Directory.Delete(cgroup);
        }
        catch (IOException)
        {
        }
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            CopyDropped(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }

    /// <summary>Copies a file (File.Copy keeps its mode) and drops the copy from the page cache, where it was charged to the benchmark.</summary>
    private static void CopyDropped(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
        using var stream = new FileStream(to, FileMode.Open, FileAccess.ReadWrite);
        // Written pages are dirty: only clean ones can be dropped.
        stream.Flush(flushToDisk: true);
        if (PosixFadvise(stream.SafeFileHandle, 0, 0, FadviseDontNeed) != 0)
        {
            throw new IOException($"posix_fadvise on {to} failed");
        }
    }

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(SafeFileHandle fd, long offset, long length, int advice);
}
