using System.Runtime.Versioning;
using Egressd.Collector.Native;

namespace Egressd.Collector.HostNetwork;

/// <summary>
/// A cgroup v2 id (the inode number of its directory, what sockets report) → the directory's path
/// below the hierarchy's root. Directories are learnt by walking the tree; a miss walks it again,
/// at most once per <see cref="BeginRead"/>, since a pod started since the last walk is the usual
/// reason and a socket whose cgroup is gone stays unknown however often one looks.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class CgroupDirectories(string root) : ICgroupPaths
{
    private readonly Dictionary<ulong, string> paths = [];
    private bool walkedThisRead;

    public string Root { get; } = root;

    /// <summary>Directories known after the last walk.</summary>
    public int Count => paths.Count;

    /// <summary>Walks of the tree so far.</summary>
    public int Walks { get; private set; }

    /// <summary>True when <paramref name="root"/> is the root of a cgroup v2 hierarchy (it lists cgroup.controllers).</summary>
    public static bool IsUnifiedRoot(string root) => File.Exists(Path.Combine(root, "cgroup.controllers"));

    public void BeginRead() => walkedThisRead = false;

    /// <summary>The directory of cgroup <paramref name="id"/> relative to the root ("/" for the root itself), or null.</summary>
    public string? PathOf(ulong id)
    {
        if (paths.TryGetValue(id, out var path))
        {
            return path;
        }

        if (walkedThisRead)
        {
            return null;
        }

        Walk();
        return paths.GetValueOrDefault(id);
    }

    private void Walk()
    {
        walkedThisRead = true;
        Walks++;
        paths.Clear();
        var rootInode = Libc.InodeOf(Root);
        if (rootInode != 0)
        {
            paths[rootInode] = "/";
        }

        var pending = new Stack<string>();
        pending.Push(Root);
        while (pending.Count > 0)
        {
            IEnumerable<string> children;
            try
            {
                children = Directory.EnumerateDirectories(pending.Pop());
                foreach (var child in children)
                {
                    var inode = Libc.InodeOf(child);
                    if (inode != 0)
                    {
                        paths[inode] = child[Root.TrimEnd('/').Length..];
                    }

                    pending.Push(child);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Removed while walking (a pod that just ended) or not ours to read: nothing to learn there.
            }
        }
    }
}
