using Egressd.Collector.Dns;
using Egressd.Collector.Flows;
using Egressd.Contracts;
using Egressd.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Egressd.Tests.Collector;

/// <summary>The collector's address-to-name map, its hand-off to the read cycle, and the capture path on packets.</summary>
public sealed class DnsAnswerMapTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly IpAddr Address = IpAddr.Parse("192.0.2.10");

    [Fact]
    public void A_two_second_ttl_expires_and_a_refresh_extends_it()
    {
        var map = new DnsAnswerMap(100, TimeSpan.Zero, TimeSpan.FromHours(1));
        Assert.True(map.Record(Address, "short.test", 2, T0, out var expires));
        Assert.Equal(T0.AddSeconds(2), expires);
        Assert.Equal("short.test", map.NameOf(Address, T0.AddSeconds(1.9)));
        Assert.Null(map.NameOf(Address, T0.AddSeconds(2)));

        // The same answer again a moment later is not news; a second and a half later it is.
        Assert.False(map.Record(Address, "short.test", 2, T0.AddSeconds(0.1), out _));
        Assert.True(map.Record(Address, "short.test", 2, T0.AddSeconds(1.5), out expires));
        Assert.Equal(T0.AddSeconds(3.5), expires);
        Assert.Equal("short.test", map.NameOf(Address, T0.AddSeconds(3)));

        Assert.Equal(1, map.RemoveExpired(T0.AddSeconds(4)));
        Assert.Equal(0, map.Count);
        Assert.Equal(1, map.Expired);
    }

    [Fact]
    public void A_new_name_for_an_address_is_shipped_at_once()
    {
        var map = new DnsAnswerMap(100, TimeSpan.Zero, TimeSpan.FromHours(1));
        Assert.True(map.Record(Address, "one.test", 300, T0, out _));
        Assert.True(map.Record(Address, "two.test", 300, T0.AddSeconds(1), out _));
        Assert.Equal("two.test", map.NameOf(Address, T0.AddSeconds(2)));
    }

    [Fact]
    public void Ttls_are_held_within_the_floor_and_the_cap()
    {
        var map = new DnsAnswerMap(100, TimeSpan.FromMinutes(1), TimeSpan.FromHours(1));
        map.Record(IpAddr.Parse("192.0.2.1"), "zero.test", 0, T0, out var floor);
        map.Record(IpAddr.Parse("192.0.2.2"), "week.test", 7 * 86_400, T0, out var cap);
        Assert.Equal(T0.AddMinutes(1), floor);
        Assert.Equal(T0.AddHours(1), cap);
    }

    [Fact]
    public void The_map_stays_within_its_bound_under_100000_distinct_answers_from_packets()
    {
        var time = new FakeTimeProvider(T0);
        var map = new DnsAnswerMap(10_000, TimeSpan.FromMinutes(1), TimeSpan.FromHours(1));
        var inbox = new DnsAnswerInbox(1_000_000);
        var processor = new DnsResponseProcessor(map, inbox, time, TestMetrics.Dns());
        for (var i = 0; i < 100_000; i++)
        {
            var address = $"10.{i >> 16}.{(i >> 8) & 0xFF}.{i & 0xFF}";
            var packet = i % 2 == 0
                ? DnsMessages.Response($"host{i}.test").A($"host{i}.test", address).Udp()
                : DnsMessages.Response($"host{i}.test").A($"host{i}.test", address).Tcp(v6: true);
            processor.Process(packet);
            Assert.True(map.Count <= 10_000);
        }

        Assert.Equal(10_000, map.Count);
        Assert.Equal(90_000, map.Evicted);
        Assert.Equal(0, processor.Failures);
        Assert.Equal(100_000, processor.Responses);
        Assert.Equal(100_000, inbox.Count);
        // The least recently answered went first.
        Assert.Null(map.NameOf(IpAddr.Parse("10.0.0.0"), T0));
        Assert.Equal("host99999.test", map.NameOf(IpAddr.Parse("10.1.134.159"), T0));
    }

    [Fact]
    public void Garbage_packets_are_counted_and_the_next_response_still_recorded()
    {
        var time = new FakeTimeProvider(T0);
        var map = new DnsAnswerMap(100, TimeSpan.Zero, TimeSpan.FromHours(1));
        var processor = new DnsResponseProcessor(map, new DnsAnswerInbox(100), time, TestMetrics.Dns());
        var random = new Random(7);
        for (var i = 0; i < 50_000; i++)
        {
            var payload = new byte[random.Next(0, 400)];
            random.NextBytes(payload);
            var packet = (i % 4) switch
            {
                0 => DnsMessages.UdpPacket(payload),
                1 => DnsMessages.TcpPacket(payload, v6: true),
                2 => payload,
                _ => DnsMessages.UdpPacket(payload, v6: true),
            };
            processor.Process(packet.AsSpan(0, random.Next(0, packet.Length + 1)));
        }

        Assert.True(processor.Failures > 0);
        processor.Process(DnsMessages.Response("after.test").A("after.test", "192.0.2.99").Udp());
        Assert.Equal("after.test", map.NameOf(IpAddr.Parse("192.0.2.99"), T0));
    }

    [Fact]
    public void Several_messages_in_one_tcp_segment_are_all_read()
    {
        var map = new DnsAnswerMap(100, TimeSpan.Zero, TimeSpan.FromHours(1));
        var processor = new DnsResponseProcessor(map, new DnsAnswerInbox(100), new FakeTimeProvider(T0), TestMetrics.Dns());
        var one = DnsMessages.Response("one.test").A("one.test", "192.0.2.1").Build();
        var two = DnsMessages.Response("two.test").Aaaa("two.test", "2001:db8::2").Build();
        var payload = new byte[4 + one.Length + two.Length];
        payload[0] = (byte)(one.Length >> 8);
        payload[1] = (byte)one.Length;
        one.CopyTo(payload, 2);
        payload[2 + one.Length] = (byte)(two.Length >> 8);
        payload[3 + one.Length] = (byte)two.Length;
        two.CopyTo(payload, 4 + one.Length);
        processor.Process(DnsMessages.TcpPacket(payload));
        Assert.Equal("one.test", map.NameOf(IpAddr.Parse("192.0.2.1"), T0));
        Assert.Equal("two.test", map.NameOf(IpAddr.Parse("2001:db8::2"), T0));

        // The first segment of a response longer than the segment: skipped and counted, not misread.
        processor.Process(DnsMessages.TcpPacket(payload[..(one.Length - 5)]));
        Assert.Equal(1, processor.Failures);
    }

    [Fact]
    public async Task Answers_posted_by_another_thread_all_reach_the_windows()
    {
        var pending = new PendingFlows();
        var inbox = new DnsAnswerInbox(1_000_000);
        var reader = new DnsAnsweringFlowReader(new NoFlows(), inbox, pending);
        const int total = 50_000;
        var posting = Task.Run(() =>
        {
            for (var i = 0; i < total; i++)
            {
                Assert.True(inbox.Post(new DnsAnswer { Ip = IpAddr.Parse($"10.0.{i >> 8}.{i & 0xFF}"), Name = $"h{i}.test", ExpiresAt = T0.AddHours(1) }), "inbox full");
            }
        }, TestContext.Current.CancellationToken);

        var shipped = new HashSet<IpAddr>();
        var window = 0;
        while (!posting.IsCompleted || inbox.Count > 0)
        {
            await reader.ReadAsync(TestContext.Current.CancellationToken);
            foreach (var part in pending.Freeze("n", "b", ++window, FlowSource.Netfilter, T0, T0.AddSeconds(1), 5000))
            {
                foreach (var answer in part.DnsAnswers)
                {
                    Assert.True(shipped.Add(answer.Ip), $"{answer.Ip} twice");
                }
            }
        }

        await posting;
        Assert.Equal(total, shipped.Count);
    }

    [Fact]
    public void A_full_inbox_refuses_rather_than_grows()
    {
        var inbox = new DnsAnswerInbox(2);
        var answer = new DnsAnswer { Ip = IpAddr.Parse("192.0.2.1"), Name = "x.test", ExpiresAt = T0 };
        Assert.True(inbox.Post(answer));
        Assert.True(inbox.Post(answer));
        Assert.False(inbox.Post(answer));
        Assert.Equal(2, inbox.Count);
    }

    private sealed class NoFlows : IFlowReader
    {
        public FlowSource Source => FlowSource.Netfilter;

        public ValueTask ReadAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
