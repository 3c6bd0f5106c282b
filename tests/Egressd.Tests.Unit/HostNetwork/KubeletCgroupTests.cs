using Egressd.Collector.HostNetwork;

namespace Egressd.Tests.HostNetwork;

public sealed class KubeletCgroupTests
{
    [Theory]
    // systemd driver: uid with '-' as '_', per QoS class, the container's own scope below.
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1c5e7f2a_0b1d_4e8b_9f3a_2d6c8e4b7a10.slice/cri-containerd-4f2a9c.scope", "1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10")]
    [InlineData("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1c5e7f2a_0b1d_4e8b_9f3a_2d6c8e4b7a10.slice/crio-77ab.scope", "1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10")]
    [InlineData("/kubepods.slice/kubepods-pod1c5e7f2a_0b1d_4e8b_9f3a_2d6c8e4b7a10.slice/docker-0badc0de.scope", "1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10")]
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1c5e7f2a_0b1d_4e8b_9f3a_2d6c8e4b7a10.slice", "1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10")]
    // cgroupfs driver: the uid as the API shows it, the container's bare id below.
    [InlineData("/kubepods/burstable/pod1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10/4f2a9c0d1e", "1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10")]
    [InlineData("/kubepods/pod1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10/4f2a9c0d1e", "1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10")]
    // A static pod: its uid is its config hash, 32 hex digits.
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6b3f9c0e2d7a41f8a5c4e9b1d0f27a63.slice/cri-containerd-aa.scope", "6b3f9c0e2d7a41f8a5c4e9b1d0f27a63")]
    // Nested under a test's or a node agent's own subtree.
    [InlineData("/egressd-test/kubepods/besteffort/pod1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10", "1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10")]
    public void A_pods_cgroup_names_its_uid(string path, string uid)
    {
        Assert.Equal((uid, null), KubeletCgroup.Parse(path));
    }

    [Theory]
    [InlineData("/system.slice/kubelet.service", "kubelet.service")]
    [InlineData("/system.slice/containerd.service", "containerd.service")]
    [InlineData("/", null)]
    [InlineData("/user.slice/user-0.slice/session-4.scope", null)]
    // "pod…" outside kubepods is no pod.
    [InlineData("/system.slice/pod1c5e7f2a.service", "pod1c5e7f2a.service")]
    public void A_cgroup_outside_pods_names_its_systemd_unit_if_any(string path, string? unit)
    {
        Assert.Equal((null, unit), KubeletCgroup.Parse(path));
    }
}
