using System.Text.RegularExpressions;

namespace Egressd.Collector.HostNetwork;

/// <summary>
/// What a cgroup path says about who runs in it, read the way kubelet names pod cgroups:
/// <list type="bullet">
/// <item>systemd driver: <c>kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod&lt;uid, - as _&gt;.slice</c>
/// (guaranteed pods directly under <c>kubepods.slice</c> as <c>kubepods-pod&lt;uid&gt;.slice</c>);</item>
/// <item>cgroupfs driver: <c>/kubepods[/besteffort|/burstable]/pod&lt;uid&gt;</c>;</item>
/// <item>below the pod, a container's own cgroup: <c>cri-containerd-&lt;id&gt;.scope</c>,
/// <c>crio-&lt;id&gt;.scope</c>, <c>docker-&lt;id&gt;.scope</c> or the bare id; the pod is what counts.</item>
/// </list>
/// A static pod's uid is its config hash (32 hex digits; kubelet's config/common.go), which its
/// mirror pod carries as the <c>kubernetes.io/config.mirror</c> annotation. A path outside any pod
/// that ends in a systemd unit (<c>system.slice/kubelet.service</c>) names that unit.
/// </summary>
internal static partial class KubeletCgroup
{
    /// <summary>The pod uid (dashed, as the API shows it) and, outside pods, the systemd unit of <paramref name="path"/>.</summary>
    public static (string? PodUid, string? Unit) Parse(string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var underKubepods = false;
        foreach (var segment in segments)
        {
            if (SystemdPod().Match(segment) is { Success: true } systemd)
            {
                return (systemd.Groups[1].Value.Replace('_', '-'), null);
            }

            if (underKubepods && CgroupfsPod().Match(segment) is { Success: true } cgroupfs)
            {
                return (cgroupfs.Groups[1].Value, null);
            }

            underKubepods |= segment == "kubepods" || segment.StartsWith("kubepods", StringComparison.Ordinal);
        }

        for (var i = segments.Length - 1; i >= 0; i--)
        {
            if (segments[i].EndsWith(".service", StringComparison.Ordinal))
            {
                return (null, segments[i]);
            }
        }

        return (null, null);
    }

    [GeneratedRegex(@"^kubepods(?:-besteffort|-burstable|-guaranteed)?-pod([0-9a-fA-F_]+)\.slice$", RegexOptions.CultureInvariant)]
    private static partial Regex SystemdPod();

    [GeneratedRegex(@"^pod([0-9a-fA-F-]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex CgroupfsPod();
}
