using System.Net;
using System.Net.Sockets;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Collector;

/// <summary>
/// The collector against the kernel's own accounting under the faults that used to lose or double
/// bytes: a 4-tuple reopened while its old entry lingers (the kernel reuses the slot and the id),
/// thousands of short connections on reused tuples, a collector killed and restarted with live
/// connections (with and without its checkpoint), and SIGTERM while a publish is in flight. The
/// ground truth is a pair of nftables counters per test in the node's forward path, one per
/// direction, counting what conntrack tracks (<c>ct state != invalid</c>).
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class CollectorExactlyOnceTests(RabbitMqBroker broker)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(ProtocolType.Tcp)]
    [InlineData(ProtocolType.Udp)]
    public async Task One_source_port_reopened_to_one_server_several_times_within_a_read_interval_is_counted_as_the_kernel_counted(ProtocolType protocol)
    {
        using var lab = new NetnsLab();
        ShortUdpTimeouts(lab);
        var truth = Counters(lab, protocol, 9300);
        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, "00:00:01");
        await using var _ = host;
        // The worker starts in the background: traffic before it listens would be none of its business.
        await WaitForReadsAsync(host, 1);

        await Reopen(lab, protocol, 9300, sourcePorts: [41000], connections: 6, upload: 3_000, download: 7_000);

        await AssertPublishedEqualsKernelAsync(host, flowLog, lab, protocol, truth);
    }

    [Theory]
    [Trait("Category", "Slow")]
    [InlineData(ProtocolType.Tcp)]
    [InlineData(ProtocolType.Udp)]
    public async Task Thousands_of_short_connections_on_reused_tuples_are_counted_as_the_kernel_counted(ProtocolType protocol)
    {
        using var lab = new NetnsLab();
        ShortUdpTimeouts(lab);
        var truth = Counters(lab, protocol, 9310);
        // UDP: a read interval longer than an entry lives (1 s timeout), so one tuple has a
        // predecessor, itself and a successor within one interval, as a DNS client's port can.
        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, protocol == ProtocolType.Tcp ? "00:00:00.500" : "00:00:02");
        await using var _ = host;
        await WaitForReadsAsync(host, 1);

        if (protocol == ProtocolType.Tcp)
        {
            // 3,000 connections over 24 source ports: each port reopened ~125 times while its old entry is in TIME_WAIT.
            await Reopen(lab, ProtocolType.Tcp, 9310, sourcePorts: [.. Enumerable.Range(42000, 24)], connections: 3_000, upload: 200, download: 300);
        }
        else
        {
            // 24,000 request/response exchanges over 24 source ports, all ports at once: in each of 10 rounds
            // every port makes 100 exchanges, then its entry expires, and the next round's first datagram
            // makes a new entry on the same tuple (240 entries, 10 per tuple).
            await ExchangeUdp(lab, 9310, sourcePorts: [.. Enumerable.Range(42000, 24)], rounds: 10, exchanges: 100, upload: 200, download: 300);
        }

        await AssertPublishedEqualsKernelAsync(host, flowLog, lab, protocol, truth);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Collector_killed_and_restarted_with_live_connections_reports_the_kernels_counters_no_more()
    {
        using var lab = new NetnsLab();
        await using var restarted = await KillAndRestartAsync(lab, 9400, loseCheckpoint: false);
        var (truth, probe, second) = (restarted.Truth, restarted.Probe, restarted.Second);

        var expected = truth.Read();
        var published = default((ulong, ulong, ulong, ulong));
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            published = (await probe.TotalsAsync()).GetValueOrDefault(Key(ProtocolType.Tcp));
            return published == expected;
        }, Patience), $"published {published}, kernel {expected}\n{second.Tail()}");
        await second.WaitForMoreReadsAsync(3, StartTimeout);
        Assert.Equal(expected, (await probe.TotalsAsync()).GetValueOrDefault(Key(ProtocolType.Tcp)));
        Assert.Contains(second.Output, l => l.Contains("\"EventId\":2401", StringComparison.Ordinal));
        Assert.Matches(@"egressd_collector_restart_uncounted_bytes_total 0\b", await second.GetStringAsync("/metrics"));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Collector_restarted_without_its_checkpoint_never_counts_twice_and_counts_what_it_skipped()
    {
        using var lab = new NetnsLab();
        await using var restarted = await KillAndRestartAsync(lab, 9410, loseCheckpoint: true);
        var (truth, probe, second) = (restarted.Truth, restarted.Probe, restarted.Second);

        var expected = truth.Read();
        await second.WaitForMoreReadsAsync(4, StartTimeout);
        await Task.Yield();
        var afterReads = (await probe.TotalsAsync()).GetValueOrDefault(Key(ProtocolType.Tcp));
        var uncounted = Uncounted(await second.GetStringAsync("/metrics"));
        var kernelBytes = expected.Item1 + expected.Item2;
        var publishedBytes = afterReads.Item1 + afterReads.Item2;
        Assert.True(publishedBytes <= kernelBytes, $"published {afterReads} is more than the kernel counted {expected}: a double count");
        Assert.True(uncounted > 0, "the baseline taken at the restart was not counted in egressd_collector_restart_uncounted_bytes_total");
        Assert.True(kernelBytes - publishedBytes <= uncounted, $"lost {kernelBytes - publishedBytes} bytes, more than the {uncounted} the metric admits");
        Assert.Contains(second.Output, l => l.Contains("\"EventId\":2304", StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Collector_stopped_by_SIGTERM_while_a_publish_hangs_publishes_the_frozen_window_and_the_pending_deltas()
    {
        using var lab = new NetnsLab();
        var state = Path.Combine(Path.GetTempPath(), $"egressd-state-{lab.Id}");
        var truth = Counters(lab, ProtocolType.Tcp, 9420);
        await using var probe = await CollectedBatches.StartAsync(broker, lab.Node);
        var target = await broker.AddressAsync();
        await using var proxy = new TcpProxy(target.Host, target.Port);
        proxy.Open();
        var bus = await broker.BusSettingsAsync(portOverride: proxy.Port);
        bus["Egressd:Bus:PublishTimeout"] = "00:00:05";

        await using var collector = StartCollector(lab, bus, state);
        await collector.WaitUntilAsync("/readyz", HttpStatusCode.OK, StartTimeout);
        await using var live = await LiveConnection.OpenAsync(lab, 9420);
        await live.TrafficAsync(TimeSpan.FromSeconds(1));
        Assert.True(await Eventually.TrueAsync(async () => (await probe.TotalsAsync()).ContainsKey(Key(ProtocolType.Tcp)), Patience), collector.Tail());

        // The broker goes away: a window freezes and its publish hangs, while more deltas are read.
        proxy.Close();
        await live.TrafficAsync(TimeSpan.FromSeconds(1.5));
        await live.DisposeAsync();
        await collector.WaitForMoreReadsAsync(1, StartTimeout);
        var stopping = collector.StopAsync();
        proxy.Open();
        await stopping;
        Assert.Equal(0, await collector.WaitForExitAsync(TimeSpan.FromSeconds(5)));

        var expected = truth.Read();
        var published = default((ulong, ulong, ulong, ulong));
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            published = (await probe.TotalsAsync()).GetValueOrDefault(Key(ProtocolType.Tcp));
            return published == expected;
        }, Patience), $"published {published}, kernel {expected}\n{collector.Tail()}");
        Assert.Contains(collector.Output, l => l.Contains("\"EventId\":2107", StringComparison.Ordinal));
        // The collector's own process handed its start-up code back to the kernel before its first read.
        Assert.Contains(collector.Output, l => l.Contains("\"EventId\":2108", StringComparison.Ordinal) && !l.Contains("\"PagedOut\":0,", StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Collector_stopped_by_SIGTERM_during_connection_churn_counts_the_connections_that_end_while_it_stops()
    {
        using var lab = new NetnsLab();
        var state = Path.Combine(Path.GetTempPath(), $"egressd-state-{lab.Id}");
        var truth = Counters(lab, ProtocolType.Tcp, 9430);
        await using var probe = await CollectedBatches.StartAsync(broker, lab.Node);
        var target = await broker.AddressAsync();
        await using var proxy = new TcpProxy(target.Host, target.Port);
        proxy.Open();
        var bus = await broker.BusSettingsAsync(portOverride: proxy.Port);
        bus["Egressd:Bus:PublishTimeout"] = "00:00:08";

        await using var collector = StartCollector(lab, bus, state);
        await collector.WaitUntilAsync("/readyz", HttpStatusCode.OK, StartTimeout);
        await using var churn = Churn.Start(lab, 9430);
        Assert.True(await Eventually.TrueAsync(async () => (await probe.TotalsAsync()).ContainsKey(Key(ProtocolType.Tcp)), Patience), collector.Tail());
        // Publishing steadily (the first publish of a process can be slow), so the stop's final read comes at once.
        Assert.True(await Eventually.TrueAsync(async () => Value(await collector.GetStringAsync("/metrics"), "egressd_collector_windows_published_total") >= 3, Patience), collector.Tail());

        // SIGTERM, nothing killed. The broker is away, so the shutdown's publish waits for it while
        // connections go on opening, moving bytes and ending: after the final read, before the exit.
        proxy.Close();
        var stopping = collector.StopAsync();
        var before = churn.Completed;
        Assert.True(await Eventually.TrueAsync(() => churn.Completed >= before + 30, Patience), "the churn stalled");
        await churn.StopAsync();
        proxy.Open();
        await stopping;
        Assert.Equal(0, await collector.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        var ended = collector.Output.Single(l => l.Contains("\"EventId\":2110", StringComparison.Ordinal));
        Assert.DoesNotContain("\"Connections\":0,", ended, StringComparison.Ordinal);

        // What the broker did not confirm in time waits in the checkpoint: the next start sends it.
        await using var second = StartCollector(lab, bus, state);
        var expected = truth.Read();
        var published = default((ulong, ulong, ulong, ulong));
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            published = (await probe.TotalsAsync()).GetValueOrDefault(Key(ProtocolType.Tcp));
            return published == expected;
        }, Patience), $"published {published}, kernel {expected} after {churn.Completed} connections\n{collector.Tail()}\n{second.Tail()}");
        await second.WaitForMoreReadsAsync(3, StartTimeout);
        Assert.Equal(expected, (await probe.TotalsAsync()).GetValueOrDefault(Key(ProtocolType.Tcp)));
        TestContext.Current.TestOutputHelper?.WriteLine($"{churn.Completed} connections, published = kernel {expected}; "
            + string.Join('\n', collector.Output.Where(l => l.Contains("\"EventId\":2102", StringComparison.Ordinal) || l.Contains("\"EventId\":2107", StringComparison.Ordinal) || l.Contains("\"EventId\":2110", StringComparison.Ordinal))));
    }

    private static (string, string, int) Key(ProtocolType protocol) => (NetnsLab.V4("a"), NetnsLab.V4("c"), protocol == ProtocolType.Tcp ? 6 : 17);

    /// <summary>
    /// A collector on the broker, a live connection carrying traffic, the collector killed with
    /// <c>kill -9</c> (its checkpoint kept or lost) while traffic goes on, and a second collector on
    /// the same state directory; the connection closed at the end.
    /// </summary>
    private async Task<Restarted> KillAndRestartAsync(NetnsLab lab, int port, bool loseCheckpoint)
    {
        var state = Path.Combine(Path.GetTempPath(), $"egressd-state-{lab.Id}");
        var truth = Counters(lab, ProtocolType.Tcp, port);
        var probe = await CollectedBatches.StartAsync(broker, lab.Node);
        var bus = await broker.BusSettingsAsync();

        await using var first = StartCollector(lab, bus, state);
        await first.WaitUntilAsync("/readyz", HttpStatusCode.OK, StartTimeout);
        await using var live = await LiveConnection.OpenAsync(lab, port);
        await live.TrafficAsync(TimeSpan.FromSeconds(1.5));
        Assert.True(await Eventually.TrueAsync(async () => (await probe.TotalsAsync()).ContainsKey(Key(ProtocolType.Tcp)), Patience), first.Tail());
        await live.TrafficAsync(TimeSpan.FromSeconds(0.5));
        await first.KillAsync();
        if (loseCheckpoint)
        {
            Directory.Delete(state, recursive: true);
        }

        await live.TrafficAsync(TimeSpan.FromSeconds(0.5));
        var second = StartCollector(lab, bus, state);
        await second.WaitUntilAsync("/readyz", HttpStatusCode.OK, StartTimeout);
        await live.TrafficAsync(TimeSpan.FromSeconds(1));
        return new Restarted(truth, probe, second);
    }

    private sealed record Restarted(GroundTruth Truth, CollectedBatches Probe, ServiceProcess Second) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Second.DisposeAsync();
            await Probe.DisposeAsync();
        }
    }

    private static ServiceProcess StartCollector(NetnsLab lab, Dictionary<string, string?> bus, string state)
    {
        var settings = new Dictionary<string, string?>(bus)
        {
            ["Egressd:Collector:Source"] = "netfilter",
            ["Egressd:Collector:Netns"] = lab.NodePath,
            ["Egressd:Collector:NodeName"] = lab.Node,
            ["Egressd:Collector:ReadInterval"] = "00:00:00.300",
            ["Egressd:Collector:StateDirectory"] = state,
            ["Egressd:ClusterContext:Source"] = "Inventory",
            ["Egressd:Inventory:File"] = LabInventory.Write(lab),
        };
        return ServiceProcess.Start("collector", Repo.ServiceDll("collector", "Egressd.Collector"), settings);
    }

    private static double Value(string metrics, string name)
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static ulong Uncounted(string metrics)
    {
        const string Name = "egressd_collector_restart_uncounted_bytes_total ";
        var line = metrics.Split('\n').First(l => l.StartsWith(Name, StringComparison.Ordinal));
        return (ulong)double.Parse(line[Name.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>nftables counters for a→c and c→a on one server port.</summary>
    private static GroundTruth Counters(NetnsLab lab, ProtocolType protocol, int port)
    {
        var l4 = protocol == ProtocolType.Tcp ? "tcp" : "udp";
        var up = $"up{port}";
        var down = $"down{port}";
        lab.AddCounter(up, $"ip saddr {NetnsLab.V4("a")} ip daddr {NetnsLab.V4("c")} {l4} dport {port}");
        lab.AddCounter(down, $"ip saddr {NetnsLab.V4("c")} ip daddr {NetnsLab.V4("a")} {l4} sport {port}");
        return new GroundTruth(lab, up, down);
    }

    private static async Task AssertPublishedEqualsKernelAsync(InProcessHost host, string flowLog, NetnsLab lab, ProtocolType protocol, GroundTruth truth)
    {
        var key = new NetfilterCollectorTests.FlowKey(NetnsLab.V4("a"), NetnsLab.V4("c"), null, protocol == ProtocolType.Tcp ? 6 : 17);
        var expected = truth.Read();
        Assert.True(expected.Item1 > 0 && expected.Item2 > 0, $"the nftables counters saw nothing: {expected}");
        var published = default((ulong, ulong, ulong, ulong));
        Assert.True(await Eventually.TrueAsync(() =>
        {
            published = NetfilterCollectorTests.Totals(flowLog, lab.Node).GetValueOrDefault(key);
            return published == expected;
        }, Patience), $"published {published}, kernel {expected}\n" + string.Join('\n',
            (await new HttpClient().GetStringAsync(new Uri(host.BaseAddress, "/metrics"))).Split('\n').Where(l => l.StartsWith("egressd_co", StringComparison.Ordinal) && !l.Contains("bucket", StringComparison.Ordinal))));

        // Three more reads: still exactly the kernel's.
        await WaitForReadsAsync(host, 3);
        Assert.Equal(expected, NetfilterCollectorTests.Totals(flowLog, lab.Node).GetValueOrDefault(key));
    }

    private static async Task WaitForReadsAsync(InProcessHost host, int more)
    {
        using var http = new HttpClient();
        async Task<double> Reads()
        {
            const string Count = "egressd_collector_read_duration_seconds_count ";
            var line = (await http.GetStringAsync(new Uri(host.BaseAddress, "/metrics"))).Split('\n').FirstOrDefault(l => l.StartsWith(Count, StringComparison.Ordinal));
            return line is null ? 0 : double.Parse(line[Count.Length..], System.Globalization.CultureInfo.InvariantCulture);
        }

        var start = await Reads();
        Assert.True(await Eventually.TrueAsync(async () => await Reads() >= start + more, Patience), "the collector stopped reading");
    }

    /// <summary>
    /// <paramref name="connections"/> connections (or UDP exchanges) from a's <paramref name="sourcePorts"/>,
    /// round robin, to c: each reopens a port whose previous entry is still in the table (TCP:
    /// the server closed first, TIME_WAIT; UDP: expired and reaped), so the kernel reuses its slot.
    /// </summary>
    private static async Task Reopen(NetnsLab lab, ProtocolType protocol, int port, int[] sourcePorts, int connections, int upload, int download)
    {
        if (protocol == ProtocolType.Udp)
        {
            await ExchangeUdp(lab, port, sourcePorts, rounds: connections / sourcePorts.Length, exchanges: 1, upload, download);
            return;
        }

        var ct = TestContext.Current.CancellationToken;
        var server = IPAddress.Parse(NetnsLab.V4("c"));
        var client = IPAddress.Parse(NetnsLab.V4("a"));
        using var listener = lab.SocketIn("c", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Any, port));
        listener.Listen(1024);
        var serving = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            var reply = new byte[download];
            for (var i = 0; i < connections; i++)
            {
                using var peer = await listener.AcceptAsync(ct);
                var got = 0;
                while (got < upload)
                {
                    var n = await peer.ReceiveAsync(buffer, ct);
                    if (n == 0)
                    {
                        break;
                    }

                    got += n;
                }

                await peer.SendAsync(reply, ct);
                // The server closes first: its side waits in TIME_WAIT, the conntrack entry too.
                peer.Close();
            }
        }, ct);

        var payload = new byte[upload];
        var answer = new byte[64 * 1024];
        for (var i = 0; i < connections; i++)
        {
            var sourcePort = sourcePorts[i % sourcePorts.Length];
            using var socket = await ConnectFromAsync(lab, client, sourcePort, new IPEndPoint(server, port), ct);
            await socket.SendAsync(payload, ct);
            while (await socket.ReceiveAsync(answer, ct) > 0)
            {
            }

            socket.Close();
        }

        await serving.WaitAsync(TimeSpan.FromSeconds(60), ct);
    }

    /// <summary>
    /// Expired UDP entries go quickly (1 s after their last datagram, replied or not: the kernel takes
    /// whole seconds, and 0 would expire an entry before its reply), so the next datagram from a port
    /// makes a new entry on the old tuple. Both timeouts are the node namespace's own.
    /// </summary>
    private static void ShortUdpTimeouts(NetnsLab lab) =>
        lab.Exec("node", "sysctl", "-qw", "net.netfilter.nf_conntrack_udp_timeout=1", "net.netfilter.nf_conntrack_udp_timeout_stream=1");

    /// <summary>
    /// <paramref name="rounds"/> rounds in which each of a's <paramref name="sourcePorts"/>, all at once,
    /// makes <paramref name="exchanges"/> request/response exchanges with c (one conntrack entry per
    /// port per round), then leaves its entry to expire untouched and starts the next round just
    /// after: nothing here lists the table, so the next datagram's lookup reaps the expired entry and
    /// makes its successor on the same tuple (often in the same slot, with the same id), unless a
    /// collector dump reaped it first. The ports' restarts are spread over half a second, so both
    /// happen. A counter of the entries' first packets (<c>ct state new</c>) checks that every round
    /// made a new entry on every tuple.
    /// </summary>
    private static async Task ExchangeUdp(NetnsLab lab, int port, int[] sourcePorts, int rounds, int exchanges, int upload, int download)
    {
        var ct = TestContext.Current.CancellationToken;
        var server = new IPEndPoint(IPAddress.Parse(NetnsLab.V4("c")), port);
        var client = IPAddress.Parse(NetnsLab.V4("a"));
        var created = $"new{port}";
        lab.AddCounter(created, $"ip saddr {NetnsLab.V4("a")} ip daddr {NetnsLab.V4("c")} udp dport {port} ct state new");
        var before = lab.ReadCounter(created).Packets;
        using var udpServer = lab.SocketIn("c", AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udpServer.Bind(new IPEndPoint(IPAddress.Any, port));
        var total = rounds * exchanges * sourcePorts.Length;
        var serving = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            var reply = new byte[download];
            for (var i = 0; i < total; i++)
            {
                var result = await udpServer.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), ct);
                await udpServer.SendToAsync(reply, result.RemoteEndPoint, ct);
            }
        }, ct);

        var exchanging = 0L;
        var wall = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(sourcePorts.Select((sourcePort, i) => Task.Run(async () =>
        {
            using var socket = lab.SocketIn("a", AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(client, sourcePort));
            var request = new byte[upload];
            var answer = new byte[65536];
            // Past the kernel's timeout of the last reply (plus a jiffy or two), and this port's share of half a second.
            var idle = TimeSpan.FromSeconds(1.05) + (TimeSpan.FromMilliseconds(500) * i / sourcePorts.Length);
            for (var round = 0; round < rounds; round++)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                for (var n = 0; n < exchanges; n++)
                {
                    await socket.SendToAsync(request, server, ct);
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    timeout.CancelAfter(TimeSpan.FromSeconds(10));
                    await socket.ReceiveAsync(answer, timeout.Token);
                }

                Interlocked.Add(ref exchanging, System.Diagnostics.Stopwatch.GetTimestamp() - started);
                if (round < rounds - 1)
                {
                    // The condition waited for is the kernel's own timer running out; listing the
                    // table to see it would reap the entry, the very thing left to the next datagram.
                    await Task.Delay(idle, ct);
                }
            }
        }, ct)));

        await serving.WaitAsync(TimeSpan.FromSeconds(30), ct);
        var entries = lab.ReadCounter(created).Packets - before;
        var busy = (double)exchanging / System.Diagnostics.Stopwatch.Frequency;
        TestContext.Current.TestOutputHelper?.WriteLine($"{total} UDP exchanges over {sourcePorts.Length} source ports in {rounds} rounds, {wall.Elapsed.TotalSeconds:F1} s in all; "
            + $"{total / busy:N0} exchanges/s on one port while it exchanged; {entries} conntrack entries made");
        Assert.Equal((ulong)(rounds * sourcePorts.Length), entries);
    }

    /// <summary>Connects from a fixed source port, waiting out the moment its previous connection still holds it.</summary>
    private static async Task<Socket> ConnectFromAsync(NetnsLab lab, IPAddress client, int sourcePort, IPEndPoint server, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var socket = lab.SocketIn("a", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(new IPEndPoint(client, sourcePort));
                await socket.ConnectAsync(server, ct);
                return socket;
            }
            catch (SocketException) when (attempt < 200)
            {
                socket.Dispose();
                await Task.Yield();
            }
        }
    }

    /// <summary>
    /// Connections from a to c, one after another until stopped: each sends 20 kB, takes 45 kB and
    /// ends with a reset; once conntrack saw the reset (the entry's last packet), the entry is
    /// deleted, so the connection ends now, with a destroy event, rather than whenever its timeout runs out.
    /// </summary>
    private sealed class Churn : IAsyncDisposable
    {
        private const int Upload = 20_000;
        private const int Download = 45_000;
        private readonly CancellationTokenSource stop = new();
        private Task running = Task.CompletedTask;
        private int completed;

        public int Completed => Volatile.Read(ref completed);

        public static Churn Start(NetnsLab lab, int port)
        {
            var churn = new Churn();
            churn.running = Task.Run(() => churn.RunAsync(lab, port));
            return churn;
        }

        public async Task StopAsync()
        {
            await stop.CancelAsync();
            await running;
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            stop.Dispose();
        }

        private async Task RunAsync(NetnsLab lab, int port)
        {
            var server = new IPEndPoint(IPAddress.Parse(NetnsLab.V4("c")), port);
            using var listener = lab.SocketIn("c", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Any, port));
            listener.Listen(16);
            var payload = new byte[Upload];
            var reply = new byte[Download];
            var buffer = new byte[64 * 1024];
            while (!stop.IsCancellationRequested)
            {
                using var client = lab.SocketIn("a", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(server);
                using var peer = await listener.AcceptAsync();
                await client.SendAsync(payload);
                for (var got = 0; got < Upload;)
                {
                    got += await peer.ReceiveAsync(buffer);
                }

                await peer.SendAsync(reply);
                for (var got = 0; got < Download;)
                {
                    got += await client.ReceiveAsync(buffer);
                }

                var sourcePort = ((IPEndPoint)client.LocalEndPoint!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
                client.LingerState = new LingerOption(true, 0);
                client.Close();
                for (var attempt = 0; lab.TryExec("node", "conntrack", "-D", "-p", "tcp", "--orig-src", NetnsLab.V4("a"), "--sport", sourcePort, "--state", "CLOSE").Code != 0; attempt++)
                {
                    Assert.True(attempt < 500, $"conntrack never saw the reset of port {sourcePort}");
                }

                Interlocked.Increment(ref completed);
            }
        }
    }

    private sealed class GroundTruth(NetnsLab lab, string up, string down)
    {
        /// <summary>As a flow from a: (tx bytes, rx bytes, tx packets, rx packets).</summary>
        public (ulong, ulong, ulong, ulong) Read()
        {
            var u = lab.ReadCounter(up);
            var d = lab.ReadCounter(down);
            return (u.Bytes, d.Bytes, u.Packets, d.Packets);
        }
    }
}
