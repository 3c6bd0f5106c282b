using Egressd.Collector;
using Egressd.Collector.HostNetwork;
using Egressd.Collector.Pods;
using Egressd.Contracts;
using Egressd.Tests.Infrastructure;
using Prometheus;

namespace Egressd.Tests.HostNetwork;

/// <summary>Nodes that cannot attribute node-address flows say so once, and keep the collector as it was.</summary>
public sealed class HostNetworkSetupTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("egressd-cgroup-").FullName;

    private sealed class NoPods : ILocalPods
    {
        public string Description => "none";

        public bool Contains(IpAddr address) => false;
    }

    private static (IHostNetworkAttribution? Attribution, string Log) Create(string root, string kernel, string proc = "")
    {
        using var logs = new CapturedLogs();
        var attribution = HostNetworkSetup.Create(
            new CollectorOptions { CgroupRoot = root, ProcRoot = proc }, new NoPods(), new HostNetworkMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())), logs.CreateLogger("test"), kernel);
        return (attribution, logs.All);
    }

    [Fact]
    public void A_kernel_before_5_8_logs_one_warning_and_attributes_nothing()
    {
        File.WriteAllText(Path.Combine(directory, "cgroup.controllers"), "");
        var (attribution, log) = Create(directory, "5.4.0-150-generic");
        Assert.Null(attribution);
        Assert.Single(log.Split('\n'));
        Assert.Contains("Warning test [2601] Kernel 5.4.0-150-generic is older than 5.8", log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_cgroup_mount_logs_one_warning_naming_the_setting()
    {
        var (attribution, log) = Create(Path.Combine(directory, "absent"), "6.1.0");
        Assert.Null(attribution);
        Assert.Single(log.Split('\n'));
        Assert.Contains("[2602]", log, StringComparison.Ordinal);
        Assert.Contains("Egressd:Collector:CgroupRoot", log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cgroup_v1_hierarchy_logs_one_warning()
    {
        Directory.CreateDirectory(Path.Combine(directory, "memory"));
        var (attribution, log) = Create(directory, "6.1.0");
        Assert.Null(attribution);
        Assert.Single(log.Split('\n'));
        Assert.Contains("[2603]", log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cgroup_v1_hierarchy_with_the_hosts_processes_attributes_by_their_open_files()
    {
        Directory.CreateDirectory(Path.Combine(directory, "memory"));
        var proc = Directory.CreateDirectory(Path.Combine(directory, "proc")).FullName;
        var (attribution, log) = Create(directory, "6.1.0", proc);
        Assert.NotNull(attribution);
        Assert.Single(log.Split('\n'));
        Assert.Contains($"[2610] {directory} is a cgroup v1 hierarchy: flows of the node's addresses attributed by finding their sockets among the open files of hostNetwork pods' processes in {proc}", log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hybrid_host_uses_the_cgroup_v2_hierarchy_mounted_beside_v1()
    {
        Directory.CreateDirectory(Path.Combine(directory, "unified"));
        File.WriteAllText(Path.Combine(directory, "unified", "cgroup.controllers"), "");
        var (attribution, log) = Create(directory, "6.18.44-fc-v1300");
        Assert.NotNull(attribution);
        Assert.Contains($"[2604] Flows of the node's addresses attributed by their sockets' cgroups under {Path.Combine(directory, "unified")}", log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("5.8.0", true)]
    [InlineData("5.7.19", false)]
    [InlineData("4.19.0-27-amd64", false)]
    [InlineData("6.18.44-fc-v1300", true)]
    [InlineData("garbage", false)]
    public void Kernel_releases_compare_by_major_and_minor(string release, bool atLeast58)
    {
        Assert.Equal(atLeast58, HostNetworkSetup.KernelAtLeast(release, 5, 8));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
