namespace Egressd.Collector.HostNetwork;

/// <summary>
/// Where the cgroup a socket table names sits: its path, read the way kubelet names pod cgroups
/// (<see cref="KubeletCgroup"/>). On cgroup v2 the id is what the kernel reports for the socket; on
/// cgroup v1 it stands for the path of the process that holds the socket.
/// </summary>
internal interface ICgroupPaths
{
    /// <summary>Cgroups known now.</summary>
    int Count { get; }

    /// <summary>Before each read, before the socket dump.</summary>
    void BeginRead();

    /// <summary>The path of cgroup <paramref name="id"/>, or null.</summary>
    string? PathOf(ulong id);
}
