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

    [Fact]
    public void An_exact_lookup_finds_a_tcp_and_a_udp_connection_with_their_cgroup_and_nothing_once_closed()
    {
        using var lab = new NetnsLab();
        using var cgroups = new CgroupLab(lab.Id);
        var pod = cgroups.Create("kubepods/podbbbbbbbb-1111-2222-3333-444444444444/c2");
        var node = IPAddress.Parse("10.244.1.1");
        using var listener = lab.SocketIn("node", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(node, 0));
        listener.Listen();
        using var responder = lab.SocketIn("node", AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        responder.Bind(new IPEndPoint(node, 0));
        var (tcp, udp) = cgroups.Inside(pod, () => (
            lab.SocketIn("node", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp),
            lab.SocketIn("node", AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)));
        tcp.Bind(new IPEndPoint(node, 0));
        tcp.Connect(listener.LocalEndPoint!);
        var accepted = listener.Accept();
        udp.Bind(new IPEndPoint(node, 0));
        udp.Connect(responder.LocalEndPoint!);
        var inode = Libc.InodeOf(Path.Join(cgroups.Root, cgroups.Base, pod));
        var address = IpAddr.From(node);
        var tcpEnd = (ushort)((IPEndPoint)tcp.LocalEndPoint!).Port;
        var listenerEnd = (ushort)((IPEndPoint)listener.LocalEndPoint!).Port;
        var udpEnd = (ushort)((IPEndPoint)udp.LocalEndPoint!).Port;
        var responderEnd = (ushort)((IPEndPoint)responder.LocalEndPoint!).Port;

        using var diagnostics = SocketDiagnostics.Open(lab.NodePath);
        var found = diagnostics.Lookup(6, address, tcpEnd, address, listenerEnd);
        Assert.Equal(inode, found?.CgroupId);
        Assert.Equal((tcpEnd, listenerEnd), (found!.Value.LocalPort, found.Value.RemotePort));
        found = diagnostics.Lookup(17, address, udpEnd, address, responderEnd);
        Assert.Equal(inode, found?.CgroupId);
        Assert.Equal((udpEnd, responderEnd), (found!.Value.LocalPort, found.Value.RemotePort));
        // No such connection: the peer's port is another.
        Assert.Null(diagnostics.Lookup(6, address, tcpEnd, address, (ushort)(listenerEnd + 1)));
        Assert.Null(diagnostics.Lookup(17, address, udpEnd, address, (ushort)(responderEnd + 1)));

        // The client closes first and keeps the TIME_WAIT: found, with no cgroup. A closed UDP socket leaves nothing.
        tcp.Shutdown(SocketShutdown.Both);
        tcp.Close();
        accepted.Shutdown(SocketShutdown.Both);
        accepted.Close();
        udp.Close();
        SocketRecord? remnant = null;
        Assert.True(SpinWait.SpinUntil(() => (remnant = diagnostics.Lookup(6, address, tcpEnd, address, listenerEnd)) is { State: 6 }, TimeSpan.FromSeconds(5)), $"state {remnant?.State}");
        Assert.Equal(0UL, remnant!.Value.CgroupId);
        Assert.Null(diagnostics.Lookup(17, address, udpEnd, address, responderEnd));
    }
}
