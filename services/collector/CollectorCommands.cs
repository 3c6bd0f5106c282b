using System.Runtime.Versioning;
using System.Text.Json;
using Egressd.Collector.Cilium;
using Egressd.Collector.Flows;
using Egressd.Collector.Native;
using Egressd.Collector.Netfilter;
using Egressd.Collector.Pods;
using Egressd.Shared.Network;

namespace Egressd.Collector;

/// <summary>
/// One-shot commands of the collector binary, for operators and init containers:
/// <c>dump [--netns PATH] [--source netfilter|cilium] [--bpf-root PATH] [--reduced]</c> prints one
/// read as JSON lines and exits;
/// <c>init [--netns PATH]</c> turns on conntrack accounting and timestamps and exits.
/// </summary>
public static class CollectorCommands
{
    public const string Usage = "usage: Egressd.Collector dump [--netns PATH] [--source netfilter|cilium] [--bpf-root PATH] [--reduced] | init [--netns PATH]";

    public static bool IsCommand(string[] args) => args is ["dump", ..] or ["init", ..];

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (!OperatingSystem.IsLinux())
        {
            error.WriteLine("egressd-collector: dump and init read the Linux kernel's conntrack");
            return 2;
        }

        string? netns = null;
        string? source = null;
        var bpfRoot = new CollectorOptions().BpfRoot;
        var reduced = false;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--netns" when i + 1 < args.Length:
                    netns = args[++i];
                    break;
                case "--source" when args[0] == "dump" && i + 1 < args.Length && args[i + 1] is "netfilter" or "cilium":
                    source = args[++i];
                    break;
                case "--bpf-root" when args[0] == "dump" && i + 1 < args.Length:
                    bpfRoot = args[++i];
                    break;
                case "--reduced" when args[0] == "dump":
                    reduced = true;
                    break;
                default:
                    error.WriteLine($"egressd-collector: unknown argument '{args[i]}'; {Usage}");
                    return 2;
            }
        }

        if (netns is not null && !File.Exists(netns))
        {
            error.WriteLine($"egressd-collector: network namespace '{netns}' does not exist");
            return 2;
        }

        try
        {
            // Without --source, dump reads what the collector would: Cilium's maps where they are pinned.
            var cilium = source == "cilium" || (source is null && new CollectorOptions { BpfRoot = bpfRoot }.ResolveSource() == Contracts.FlowSource.Cilium);
            return args[0] == "init" ? Init(netns, output)
                : cilium ? DumpCilium(bpfRoot, reduced, output)
                : Dump(netns, reduced, output);
        }
        catch (SystemCallException ex) when (ex is NetlinkException or NetworkNamespaceException)
        {
            error.WriteLine(ex.IsPermissionDenied
                ? $"egressd-collector: reading conntrack was refused ({ex.Message}): run as root or with CAP_NET_ADMIN"
                : $"egressd-collector: {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (ex is BpfException or CiliumMapException or FlowSourceUnavailableException)
        {
            error.WriteLine($"egressd-collector: {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"egressd-collector: {ex.Message}");
            return 1;
        }
    }

    [SupportedOSPlatform("linux")]
    private static int Init(string? netns, TextWriter output)
    {
        ConntrackSwitch.Accounting.Enable(netns);
        ConntrackSwitch.Timestamps.Enable(netns);
        output.WriteLine($"conntrack accounting and timestamps are on in {netns ?? "this network namespace"}");
        return 0;
    }

    [SupportedOSPlatform("linux")]
    private static int Dump(string? netns, bool reduced, TextWriter output)
    {
        using var conntrack = new NetfilterConntrack(netns);
        return Write(conntrack.Dump, reduced, output);
    }

    /// <summary>Cilium's maps, printed in the same lines as netfilter's entries and flows.</summary>
    [SupportedOSPlatform("linux")]
    private static int DumpCilium(string bpfRoot, bool reduced, TextWriter output)
    {
        var conntrack = new CiliumConntrack(bpfRoot, CiliumCounterLayout.Auto, new CiliumClock(CiliumClockSource.Auto));
        if (!CiliumConntrack.IsPresent(bpfRoot))
        {
            throw new IOException($"no Cilium maps under {Path.Combine(bpfRoot, CiliumConntrack.GlobalsDirectory)}");
        }

        return Write(conntrack.Dump, reduced, output);
    }

    private static int Write(Action<IConntrackEntrySink> dump, bool reduced, TextWriter output)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            if (reduced)
            {
                var pending = new PendingFlows();
                var reducer = new ConntrackReducer(new AnyAddressIsLocal(), new NetworkOptions().PublicAddresses(), groupPublicDestinations: false, pending);
                reducer.BeginDump();
                dump(reducer);
                reducer.EndDump();
                foreach (var (key, counters) in pending.Flows)
                {
                    json.WriteStartObject();
                    json.WriteNumber("proto", key.Protocol);
                    json.WriteString("src", key.Source.ToString());
                    json.WriteString("dst", key.Destination.ToString());
                    if (!key.OriginalDestination.IsNone)
                    {
                        json.WriteString("orig_dst", key.OriginalDestination.ToString());
                    }

                    json.WriteNumber("tx_bytes", counters.TxBytes);
                    json.WriteNumber("rx_bytes", counters.RxBytes);
                    json.WriteNumber("tx_packets", counters.TxPackets);
                    json.WriteNumber("rx_packets", counters.RxPackets);
                    json.WriteEndObject();
                    json.Flush();
                    stream.WriteByte((byte)'\n');
                    json.Reset();
                }
            }
            else
            {
                dump(new EntryWriter(json, stream));
            }
        }

        output.Write(System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
        output.Flush();
        return 0;
    }

    /// <summary>One JSON line per conntrack entry, as <c>conntrack -L</c> would list it.</summary>
    private sealed class EntryWriter(Utf8JsonWriter json, Stream stream) : IConntrackEntrySink
    {
        public void OnEntry(in ConntrackEntry entry)
        {
            json.WriteStartObject();
            json.WriteNumber("proto", entry.Original.Protocol);
            json.WriteString("src", entry.Original.Source.ToString());
            json.WriteString("dst", entry.Original.Destination.ToString());
            json.WriteNumber("src_port", entry.Original.SourcePort);
            json.WriteNumber("dst_port", entry.Original.DestinationPort);
            json.WriteString("reply_src", entry.Reply.Source.ToString());
            json.WriteString("reply_dst", entry.Reply.Destination.ToString());
            json.WriteNumber("reply_src_port", entry.Reply.SourcePort);
            json.WriteNumber("reply_dst_port", entry.Reply.DestinationPort);
            json.WriteNumber("tx_bytes", entry.OriginalCounters.Bytes);
            json.WriteNumber("rx_bytes", entry.ReplyCounters.Bytes);
            json.WriteNumber("tx_packets", entry.OriginalCounters.Packets);
            json.WriteNumber("rx_packets", entry.ReplyCounters.Packets);
            json.WriteNumber("expires_in_s", entry.TimeoutSeconds);
            json.WriteNumber("zone", entry.Zone);
            json.WriteNumber("id", entry.Id);
            json.WriteEndObject();
            json.Flush();
            stream.WriteByte((byte)'\n');
            json.Reset();
        }
    }
}
