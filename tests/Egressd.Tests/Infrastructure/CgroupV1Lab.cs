namespace Egressd.Tests.Infrastructure;

/// <summary>
/// A cgroup v1 node as far as egressd can tell: a named cgroup v1 hierarchy (no controllers, so it
/// changes nothing for the processes in it) with a subtree of the test's own laid out as kubelet's
/// cgroupfs driver lays pods out. A process moved into one lists the pod's path in
/// <c>/proc/&lt;pid&gt;/cgroup</c>, as on a v1 node; its sockets still report a cgroup v2 directory
/// that names no pod. The hierarchy stays mounted at <see cref="Mount"/> for the next run: the kernel
/// keeps a v1 hierarchy alive after its umount while any process on the machine lives, so mounting
/// a new one each run would leave one more line in every process's <c>/proc/&lt;pid&gt;/cgroup</c>.
/// </summary>
internal sealed class CgroupV1Lab : IDisposable
{
    public const string Mount = "/run/egressd-test-cgroup-v1";

    private static readonly Lock Mounting = new();
    private readonly List<string> created = [];

    public CgroupV1Lab(string id)
    {
        lock (Mounting)
        {
            if (!File.Exists(Path.Join(Mount, "cgroup.procs")))
            {
                Directory.CreateDirectory(Mount);
                Shell.Run("mount", "-t", "cgroup", "-o", "none,name=egressd-test", "cgroup", Mount);
            }
        }

        Base = $"egt-{id}";
    }

    /// <summary>The hierarchy's mount point (the collector's CgroupRoot).</summary>
    public string Root { get; } = Mount;

    /// <summary>The test's subtree, relative to <see cref="Root"/>.</summary>
    public string Base { get; }

    /// <summary>Creates <paramref name="relative"/> (below <see cref="Base"/>) and its parents; returns its full path.</summary>
    public string Create(string relative)
    {
        var path = Root;
        foreach (var part in $"{Base}/{relative}".Split('/'))
        {
            path = Path.Join(path, part);
            if (!Directory.Exists(path))
            {
                Directory.CreateDirectory(path);
                created.Add(path);
            }
        }

        return path;
    }

    public void Dispose()
    {
        foreach (var directory in Enumerable.Reverse(created))
        {
            // A cgroup directory goes with rmdir once its processes have ended.
            Shell.TryRun("rmdir", directory);
        }
    }
}
