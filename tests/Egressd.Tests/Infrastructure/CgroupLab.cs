namespace Egressd.Tests.Infrastructure;

/// <summary>
/// A test-owned subtree of the machine's real cgroup v2 hierarchy, laid out as kubelet lays out pod
/// cgroups, and a way to create sockets from inside one of its directories: the test process moves
/// itself there for the moment it opens a socket (a socket keeps its creator's cgroup for life) and
/// moves back. Moves are serialized; the subtree is removed at the end.
/// </summary>
internal sealed class CgroupLab : IDisposable
{
    private static readonly Lock Moving = new();

    private readonly List<string> created = [];
    private readonly string home;

    public CgroupLab(string id)
    {
        Root = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup"
            : File.Exists("/sys/fs/cgroup/unified/cgroup.controllers") ? "/sys/fs/cgroup/unified"
            : throw new InvalidOperationException("Host-network tests need a cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified (mount -t cgroup2 none /sys/fs/cgroup/unified).");
        Base = $"egt-{id}";
        var line = File.ReadLines("/proc/self/cgroup").Single(l => l.StartsWith("0::", StringComparison.Ordinal));
        home = System.IO.Path.Join(Root, line[3..]);
        Create(Base);
    }

    /// <summary>Where the cgroup v2 hierarchy is mounted (the collector's CgroupRoot).</summary>
    public string Root { get; }

    /// <summary>The test's subtree, relative to <see cref="Root"/>.</summary>
    public string Base { get; }

    /// <summary>Creates <paramref name="relative"/> (below <see cref="Base"/>) and its parents; returns it.</summary>
    public string Create(string relative)
    {
        var full = relative == Base ? relative : $"{Base}/{relative}";
        var path = "";
        foreach (var part in full.Split('/'))
        {
            path = path.Length == 0 ? part : $"{path}/{part}";
            var directory = System.IO.Path.Join(Root, path);
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory);
                created.Add(directory);
            }
        }

        return relative;
    }

    /// <summary>Runs <paramref name="open"/> with this process in cgroup <paramref name="relative"/> (below <see cref="Base"/>).</summary>
    public T Inside<T>(string relative, Func<T> open)
    {
        lock (Moving)
        {
            File.WriteAllText(System.IO.Path.Join(Root, Base, relative, "cgroup.procs"), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            try
            {
                return open();
            }
            finally
            {
                File.WriteAllText(System.IO.Path.Join(home, "cgroup.procs"), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }

    public void Dispose()
    {
        foreach (var directory in Enumerable.Reverse(created))
        {
            try
            {
                Directory.Delete(directory);
            }
            catch (IOException)
            {
                // Still in use by a socket-less process? None of ours is left there; report nothing.
            }
        }
    }
}
