using Egressd.Collector.HostNetwork;
using Egressd.Collector.Pods;
using Egressd.Contracts;

namespace Egressd.Tests.HostNetwork;

/// <summary>
/// The cgroup v1 fallback's reading of a <c>/proc</c> laid out as the kernel lays it out: each
/// process's cgroup lines and its open files as links, sockets as <c>socket:[inode]</c>.
/// </summary>
public sealed class ProcessCgroupsTests : IDisposable
{
    private const string AgentUid = "1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10";
    private const string WebUid = "44f0c3a1-9b2e-4d7c-8a61-0e5f9d2c3b47";

    private readonly string proc = Directory.CreateTempSubdirectory("egressd-proc-").FullName;

    /// <summary>The agent is a hostNetwork pod; the web pod has its own network namespace.</summary>
    private sealed class Pods : ILocalPods
    {
        public string Description => "test";

        public bool Contains(IpAddr address) => false;

        public bool TryGetHostNetworkPod(string uid, out string? pod)
        {
            pod = uid == AgentUid ? "monitoring/agent-x7k2p" : null;
            return pod is not null;
        }
    }

    private void Process(int pid, string cgroupLines, params string[] files)
    {
        var directory = Path.Join(proc, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(Path.Join(directory, "fd"));
        File.WriteAllText(Path.Join(directory, "cgroup"), cgroupLines);
        for (var fd = 0; fd < files.Length; fd++)
        {
            File.CreateSymbolicLink(Path.Join(directory, "fd", fd.ToString(System.Globalization.CultureInfo.InvariantCulture)), files[fd]);
        }
    }

    [Fact]
    public void Sockets_of_hostNetwork_pods_processes_name_their_pod_cgroup_and_no_other_process_counts()
    {
        // A v1 node: the pod shows in its controllers' hierarchies; the v2 line is the root.
        Process(100, $"12:memory:/kubepods/burstable/pod{AgentUid}/0f1e2d3c\n1:name=systemd:/kubepods/burstable/pod{AgentUid}/0f1e2d3c\n0::/\n",
            "/dev/null", "socket:[4242]", "pipe:[77]", "socket:[4243]");
        Process(200, $"12:memory:/kubepods/besteffort/pod{WebUid}/9a8b7c\n0::/\n", "socket:[5000]");
        Process(300, "12:memory:/system.slice/kubelet.service\n1:name=systemd:/system.slice/kubelet.service\n0::/\n", "socket:[6000]");
        Directory.CreateDirectory(Path.Join(proc, "sys"));
        File.WriteAllText(Path.Join(proc, "uptime"), "1 1\n");

        var processes = new ProcessCgroups(proc, new Pods());
        processes.BeginRead();

        var id = processes.IdOf(4242);
        Assert.NotEqual(0UL, id);
        Assert.Equal(id, processes.IdOf(4243));
        Assert.Equal(AgentUid, KubeletCgroup.Parse(processes.PathOf(id)!).PodUid);
        Assert.Equal(0UL, processes.IdOf(5000));
        Assert.Equal(0UL, processes.IdOf(6000));
        Assert.Equal(0UL, processes.IdOf(0));
        Assert.Equal(2, processes.Sockets);
    }

    [Fact]
    public void A_process_gone_by_the_next_read_takes_its_sockets_along_but_its_cgroup_keeps_its_id()
    {
        Process(100, $"4:memory:/kubepods/pod{AgentUid}/0f1e\n", "socket:[4242]");
        var processes = new ProcessCgroups(proc, new Pods());
        processes.BeginRead();
        var id = processes.IdOf(4242);

        Directory.Delete(Path.Join(proc, "100"), recursive: true);
        Process(101, $"4:memory:/kubepods/pod{AgentUid}/0f1e\n", "socket:[4300]");
        processes.BeginRead();

        Assert.Equal(0UL, processes.IdOf(4242));
        Assert.Equal(id, processes.IdOf(4300));
        Assert.Equal(1, processes.Count);
    }

    public void Dispose() => Directory.Delete(proc, recursive: true);
}
