using System.Net.Sockets;
using System.Text.RegularExpressions;
using Egressd.Collector.Native;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// A small cluster made of network namespaces: a node that routes (and tracks connections, with
/// accounting on), two pods on it (a, b), a pod behind it on another node (c), a "public" host
/// (ext, in 198.18.0.0/15) and a ClusterIP played by a DNAT rule (10.96.0.15:80 and
/// [fd00:96::15]:80 → c:8080). Nothing gets a route off the machine.
/// </summary>
internal sealed partial class NetnsLab : IDisposable
{
    public const string ServiceV4 = "10.96.0.15";
    public const string ServiceV6 = "fd00:96::15";

    private static readonly (string Name, string V4, string V6, string GwV4, string GwV6)[] Hosts =
    [
        ("a", "10.244.1.10", "fd00:10:244:1::a", "10.244.1.1", "fd00:10:244:1::1"),
        ("b", "10.244.3.11", "fd00:10:244:3::b", "10.244.3.1", "fd00:10:244:3::1"),
        ("c", "10.244.2.20", "fd00:10:244:2::14", "10.244.2.1", "fd00:10:244:2::1"),
        ("ext", "198.18.7.9", "2001:db8:7::9", "198.18.7.1", "2001:db8:7::1"),
    ];

    private readonly List<string> namespaces = [];

    public NetnsLab(bool accounting = true)
    {
        RequireRoot();
        Id = Guid.NewGuid().ToString("N")[..6];
        Node = $"egt-{Id}-node";
        try
        {
            Build(accounting);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Id { get; }

    /// <summary>The node namespace's name; its conntrack table is the one the collector reads.</summary>
    public string Node { get; }

    public string NodePath => $"/run/netns/{Node}";

    public static string Namespace(string id, string host) => $"egt-{id}-{host}";

    public string PathOf(string host) => $"/run/netns/{Namespace(Id, host)}";

    public static string V4(string host) => Hosts.Single(h => h.Name == host).V4;

    public static string V6(string host) => Hosts.Single(h => h.Name == host).V6;

    /// <summary>Fails the test with one clear line when the machine cannot host the lab.</summary>
    public static void RequireRoot()
    {
        if (Environment.UserName != "root" && Environment.GetEnvironmentVariable("USER") != "root" && !IsRootByStatus())
        {
            throw new InvalidOperationException("Network-namespace tests need root (CAP_NET_ADMIN, CAP_SYS_ADMIN): run ./test.sh as root.");
        }

        foreach (var tool in new[] { "ip", "nft", "conntrack" })
        {
            if (Shell.TryRun("sh", "-c", $"command -v {tool}").Code != 0)
            {
                throw new InvalidOperationException($"Network-namespace tests need '{tool}' (Debian: apt-get install iproute2 nftables conntrack).");
            }
        }
    }

    /// <summary>Runs a command inside one of the lab's namespaces ("node", "a", ...).</summary>
    public string Exec(string host, params string[] command) =>
        Shell.Run("ip", ["netns", "exec", Namespace(Id, host), .. command]);

    public (int Code, string Output, string Error) TryExec(string host, params string[] command) =>
        Shell.TryRun("ip", ["netns", "exec", Namespace(Id, host), .. command]);

    /// <summary>Creates a socket inside a lab host; it stays there whichever thread uses it.</summary>
    public Socket SocketIn(string host, AddressFamily family, SocketType type, ProtocolType protocol) =>
        NetworkNamespace.Run(PathOf(host), () => new Socket(family, type, protocol));

    /// <summary>
    /// The kernel's own counters for entries whose original tuple matches, from conntrack(8):
    /// (original packets, original bytes, reply packets, reply bytes), summed.
    /// </summary>
    public (ulong OrigPackets, ulong OrigBytes, ulong ReplyPackets, ulong ReplyBytes) KernelCounters(params string[] filter)
    {
        var (code, output, error) = TryExec("node", ["conntrack", "-L", .. filter]);
        if (code != 0 && !error.Contains("0 flow entries", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"conntrack -L {string.Join(' ', filter)}: {error}");
        }

        return Sum(output);
    }

    /// <summary>Deletes matching entries (a destroy event for each) and returns their final counters.</summary>
    public (ulong OrigPackets, ulong OrigBytes, ulong ReplyPackets, ulong ReplyBytes) DeleteEntries(params string[] filter)
    {
        var (code, output, error) = TryExec("node", ["conntrack", "-D", .. filter]);
        if (code != 0)
        {
            throw new InvalidOperationException($"conntrack -D {string.Join(' ', filter)}: {error}");
        }

        return Sum(output);
    }

    /// <summary>
    /// An independent ground truth: a named nftables counter in the node's forward path for
    /// packets matching <paramref name="match"/> (e.g. <c>ip saddr X ip daddr Y tcp dport 9300</c>)
    /// that conntrack tracks (<c>ct state != invalid</c>). It counts the same IP bytes conntrack does.
    /// </summary>
    public void AddCounter(string name, string match)
    {
        Exec("node", "nft", "add", "counter", "inet", "egt", name);
        // Inserted before the chain's accept rule, which would end the chain for these packets.
        Exec("node", "sh", "-c", $"nft insert rule inet egt forward {match} ct state != invalid counter name {name}");
    }

    /// <summary>Packets and bytes an <see cref="AddCounter"/> counter saw so far.</summary>
    public (ulong Packets, ulong Bytes) ReadCounter(string name)
    {
        var output = Exec("node", "nft", "list", "counter", "inet", "egt", name);
        var match = NftCounter().Match(output);
        return match.Success ? (ulong.Parse(match.Groups[1].Value), ulong.Parse(match.Groups[2].Value))
            : throw new InvalidOperationException($"nft list counter {name}: {output}");
    }

    public void Dispose()
    {
        foreach (var ns in Enumerable.Reverse(namespaces))
        {
            Shell.TryRun("ip", "netns", "del", ns);
        }
    }

    private static (ulong, ulong, ulong, ulong) Sum(string conntrackOutput)
    {
        ulong op = 0, ob = 0, rp = 0, rb = 0;
        foreach (var line in conntrackOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var counters = Counters().Matches(line);
            if (counters.Count < 2)
            {
                continue;
            }

            op += ulong.Parse(counters[0].Groups[1].Value);
            ob += ulong.Parse(counters[0].Groups[2].Value);
            rp += ulong.Parse(counters[1].Groups[1].Value);
            rb += ulong.Parse(counters[1].Groups[2].Value);
        }

        return (op, ob, rp, rb);
    }

    private void Build(bool accounting)
    {
        AddNamespace(Node);
        var node = Namespace(Id, "node");
        Exec("node", "sysctl", "-qw", "net.ipv4.ip_forward=1");
        Exec("node", "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
        Exec("node", "sysctl", "-qw", $"net.netfilter.nf_conntrack_acct={(accounting ? 1 : 0)}");
        Shell.Run("ip", "-n", node, "link", "set", "lo", "up");
        foreach (var (name, v4, v6, gwV4, gwV6) in Hosts)
        {
            var ns = Namespace(Id, name);
            AddNamespace(ns);
            var veth = "v" + name;
            Shell.Run("ip", "link", "add", veth, "netns", node, "type", "veth", "peer", "name", "eth0", "netns", ns);
            Shell.Run("ip", "-n", node, "addr", "add", gwV4 + "/24", "dev", veth);
            Shell.Run("ip", "-n", node, "addr", "add", gwV6 + "/64", "dev", veth, "nodad");
            Shell.Run("ip", "-n", node, "link", "set", veth, "up");
            Shell.Run("ip", "-n", ns, "link", "set", "lo", "up");
            Shell.Run("ip", "-n", ns, "addr", "add", v4 + "/24", "dev", "eth0");
            Shell.Run("ip", "-n", ns, "addr", "add", v6 + "/64", "dev", "eth0", "nodad");
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "up");
            Shell.Run("ip", "-n", ns, "route", "add", "default", "via", gwV4);
            Shell.Run("ip", "-n", ns, "-6", "route", "add", "default", "via", gwV6);
        }

        // A forward rule that uses conntrack makes the node track routed traffic; the nat chain
        // plays kube-proxy's ClusterIP.
        var rules = Path.GetTempFileName();
        File.WriteAllText(rules, $$"""
            table inet egt {
              chain forward {
                type filter hook forward priority 0; policy accept;
                ct state new,established,related accept
              }
              chain prerouting {
                type nat hook prerouting priority -100; policy accept;
                ip daddr {{ServiceV4}} tcp dport 80 dnat ip to {{V4("c")}}:8080
                ip daddr {{ServiceV4}} udp dport 53 dnat ip to {{V4("c")}}:5353
                ip6 daddr {{ServiceV6}} tcp dport 80 dnat ip6 to [{{V6("c")}}]:8080
              }
            }
            """);
        try
        {
            Exec("node", "nft", "-f", rules);
        }
        finally
        {
            File.Delete(rules);
        }
    }

    private void AddNamespace(string name)
    {
        Shell.Run("ip", "netns", "add", name);
        namespaces.Add(name);
    }

    private static bool IsRootByStatus() =>
        File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))?.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0";

    [GeneratedRegex(@"packets=(\d+) bytes=(\d+)")]
    private static partial Regex Counters();

    [GeneratedRegex(@"packets (\d+) bytes (\d+)")]
    private static partial Regex NftCounter();
}
