using Egressd.Collector.Pods;

namespace Egressd.Collector.HostNetwork;

/// <summary>
/// Cgroup v1 nodes, where the kernel reports every socket in the root of an unmounted cgroup v2
/// hierarchy, which names no pod. Instead, before each read, the processes of hostNetwork pods are
/// found by the cgroup paths their <c>/proc/&lt;pid&gt;/cgroup</c> lists (the first line of any
/// hierarchy that names a pod as kubelet lays pods out), and their sockets by the links of
/// <c>/proc/&lt;pid&gt;/fd</c> (<c>socket:[inode]</c>); a socket then stands for its process's
/// cgroup path, under an id of this class's own (<see cref="IdOf"/>) that the socket table keeps.
/// <para>Only processes of pods the node's pod watch knows as hostNetwork pods are looked into: the
/// others have network namespaces of their own, so the node's dump never lists their sockets. A
/// process outside pods is the node's (on v1 without its systemd unit), and a connection that opens
/// and closes between two reads is never among any process's files, so it goes to the node.</para>
/// </summary>
internal sealed class ProcessCgroups(string proc, ILocalPods pods) : ICgroupPaths
{
    private const string SocketLink = "socket:[";

    private readonly Dictionary<uint, ulong> sockets = [];
    private readonly Dictionary<ulong, string> paths = [];
    private readonly Dictionary<string, ulong> ids = new(StringComparer.Ordinal);

    /// <summary>Pod cgroup paths seen since start (each keeps its id, so the socket table's cookie cache stays right).</summary>
    public int Count => paths.Count;

    /// <summary>Sockets of hostNetwork pods' processes found at the last <see cref="BeginRead"/>.</summary>
    public int Sockets => sockets.Count;

    public void BeginRead()
    {
        sockets.Clear();
        IEnumerable<string> processes;
        try
        {
            processes = Directory.EnumerateDirectories(proc);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var process in processes)
        {
            if (!uint.TryParse(Path.GetFileName(process.AsSpan()), out _) || PodPath(Path.Join(process, "cgroup")) is not { } path)
            {
                continue;
            }

            var id = IdFor(path);
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Join(process, "fd")))
                {
                    var target = new FileInfo(fd).LinkTarget;
                    if (target is not null && target.StartsWith(SocketLink, StringComparison.Ordinal) && target.EndsWith(']')
                        && uint.TryParse(target.AsSpan(SocketLink.Length, target.Length - SocketLink.Length - 1), out var inode))
                    {
                        sockets[inode] = id;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended meanwhile, or its files are not ours to read: its sockets stay the node's.
            }
        }
    }

    /// <summary>The id of the pod cgroup whose process holds socket <paramref name="inode"/>, or 0.</summary>
    public ulong IdOf(uint inode) => inode != 0 && sockets.TryGetValue(inode, out var id) ? id : 0;

    public string? PathOf(ulong id) => paths.GetValueOrDefault(id);

    /// <summary>The first of a process's cgroup paths (<c>hierarchy:controllers:path</c> lines) that names a hostNetwork pod the watch knows.</summary>
    private string? PodPath(string cgroupFile)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(cgroupFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        foreach (var line in lines)
        {
            var controllers = line.IndexOf(':', StringComparison.Ordinal);
            var path = controllers < 0 ? -1 : line.IndexOf(':', controllers + 1);
            if (path >= 0 && KubeletCgroup.Parse(line[(path + 1)..]).PodUid is { } uid && pods.TryGetHostNetworkPod(uid, out _))
            {
                return line[(path + 1)..];
            }
        }

        return null;
    }

    private ulong IdFor(string path)
    {
        if (!ids.TryGetValue(path, out var id))
        {
            id = (ulong)ids.Count + 1;
            ids[path] = id;
            paths[id] = path;
        }

        return id;
    }
}
