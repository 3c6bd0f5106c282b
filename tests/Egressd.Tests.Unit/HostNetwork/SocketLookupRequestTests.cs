using Egressd.Collector.HostNetwork;
using Egressd.Contracts;

namespace Egressd.Tests.HostNetwork;

/// <summary>The exact sock_diag request, byte for byte, as linux/sock_diag.h and linux/inet_diag.h lay it out.</summary>
public sealed class SocketLookupRequestTests
{
    private static byte[] Encode(byte protocol, string local, ushort localPort, string remote, ushort remotePort)
    {
        var request = new byte[SocketDiagnostics.LookupBytes];
        SocketDiagnostics.EncodeLookup(request, 0x01020304, protocol, IpAddr.Parse(local), localPort, IpAddr.Parse(remote), remotePort);
        return request;
    }

    [Fact]
    public void A_tcp_request_names_the_sockets_own_end_as_its_source()
    {
        var request = Encode(6, "10.244.1.1", 40000, "198.18.0.9", 443);
        Assert.Equal(72, request.Length);
        Assert.Equal(
            Convert.FromHexString(
                "48000000" + "1400" + "0100" + "04030201" + "00000000" // nlmsghdr: 72 bytes, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST (no NLM_F_DUMP), seq, pid
                + "02" + "06" + "00" + "00" + "FFFFFFFF" // AF_INET, IPPROTO_TCP, no extensions, pad, every state
                + "9C40" + "01BB" // idiag_sport 40000, idiag_dport 443, big-endian
                + "0AF40101" + "000000000000000000000000" // idiag_src
                + "C6120009" + "000000000000000000000000" // idiag_dst
                + "00000000" // idiag_if: any
                + "FFFFFFFF" + "FFFFFFFF"), // INET_DIAG_NOCOOKIE
            request);
    }

    [Fact]
    public void A_udp_request_names_the_peer_as_its_source_as_the_kernels_udp_lookup_reads_it()
    {
        var request = Encode(17, "10.244.1.1", 5353, "198.18.0.53", 53);
        Assert.Equal(0x11, request[17]);
        Assert.Equal(Convert.FromHexString("0035" + "14E9"), request[24..28]);
        Assert.Equal(Convert.FromHexString("C6120035"), request[28..32]);
        Assert.Equal(Convert.FromHexString("0AF40101"), request[44..48]);
        Assert.Equal(0, request[6 + 1]);
    }

    [Fact]
    public void An_ipv6_request_carries_both_addresses_whole()
    {
        var request = Encode(6, "fd00::1", 40000, "2001:db8::9", 443);
        Assert.Equal(10, request[16]);
        Assert.Equal(Convert.FromHexString("FD000000000000000000000000000001"), request[28..44]);
        Assert.Equal(Convert.FromHexString("20010DB8000000000000000000000009"), request[44..60]);
    }
}
