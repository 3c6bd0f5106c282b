using System.Net;
using System.Net.Sockets;
using Egressd.Collector.HostNetwork;
using Egressd.Collector.Native;
using Egressd.Contracts;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.HostNetwork;

/// <summary>The kernel's socket diagnostics read back: each socket with the cgroup v2 directory of the process that opened it.</summary>
public sealed class SocketDiagnosticsTests
{
    [Fact]
    public void A_dump_lists_a_listener_and_a_connection_with_the_cgroup_they_were_opened_in()
    {
        using var lab = new NetnsLab();
        using var cgroups = new CgroupLab(lab.Id);
        var pod = cgroups.Create("kubepods/podaaaaaaaa-1111-2222-3333-444444444444/c1");
        var (listener, client) = cgroups.Inside(pod, () =>
        {
            var l = lab.SocketIn("node", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            l.Bind(new IPEndPoint(IPAddress.Parse("10.244.1.1"), 0));
            l.Listen();
            return (l, lab.SocketIn("node", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        });
        using var _ = listener;
        using var __ = client;
        client.Connect(listener.LocalEndPoint!);
        using var accepted = listener.Accept();
        var inode = Libc.InodeOf(Path.Join(cgroups.Root, cgroups.Base, pod));
        Assert.NotEqual(0UL, inode);

        using var diagnostics = SocketDiagnostics.Open(lab.NodePath);
        var table = new HostSocketTable();
        List<SocketRecord> all = [];
        table.Refresh(add => diagnostics.Dump(s =>
        {
            all.Add(s);
            add(s);
        }));

        var listening = (IPEndPoint)listener.LocalEndPoint!;
        var connected = (IPEndPoint)client.LocalEndPoint!;
        var node = IpAddr.Parse("10.244.1.1");
        Assert.Equal(inode, table.Listening(6, node, (ushort)listening.Port));
        Assert.Equal(inode, table.Connected(6, node, (ushort)connected.Port, node, (ushort)listening.Port));
        // The accepted end is the listener's.
        Assert.Equal(inode, table.Connected(6, node, (ushort)listening.Port, node, (ushort)connected.Port));
        Assert.All(all, s => Assert.NotEqual(0UL, s.Cookie));
        Assert.Equal(3, all.Count(s => s.Protocol == 6));
    }
}
