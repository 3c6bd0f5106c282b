using Egressd.Contracts;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Shared.Network;
using Egressd.Shared.Wire;
using Egressd.Tests.Infrastructure;
using Egressd.Tests.Samples;
using Microsoft.Extensions.Time.Testing;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

public sealed class FlowSeriesStoreTests
{
    private static readonly FlowLabelContext Context = new(new NetworkOptions().PublicAddresses());

    private static FlowSeriesStore Store(IReadOnlyList<string>? labels = null, int maxSeries = 1000, TimeSpan? idle = null, TimeProvider? time = null) =>
        new(labels ?? FlowLabels.PodLevel, Context, maxSeries, idle ?? TimeSpan.FromMinutes(10), time ?? TimeProvider.System, TestMetrics.PrometheusSink());

    private static string[] Values(IReadOnlyList<string> labels, FlowRow flow) =>
        [.. labels.Select(l => FlowLabels.All[l].ValueOf(flow, Context))];

    [Fact]
    public void Deltas_of_every_window_add_up_to_cumulative_counters_per_label_set()
    {
        var store = Store();
        var web = PodFlow("shop", "web-1", "shop", "db-0", txBytes: 100, rxBytes: 1000, txPackets: 2, rxPackets: 3);
        var other = PodFlow("shop", "web-2", "shop", "db-0", txBytes: 7, sourceIp: "10.244.1.11");

        store.Apply([web, other]);
        // A smaller delta in the next window is still added: these are deltas, never a reset.
        store.Apply([web with { Flow = web.Flow with { TxBytes = 40, RxBytes = 10, TxPackets = 1, RxPackets = 1 } }]);

        Assert.Equal(2, store.Count);
        Assert.Equal([140UL, 1010UL, 3UL, 4UL], store.Find(Values(FlowLabels.PodLevel, web))!);
        Assert.Equal([7UL, 0UL, 1UL, 1UL], store.Find(Values(FlowLabels.PodLevel, other))!);
    }

    [Fact]
    public void A_batch_off_the_wire_is_counted_by_its_endpoint_table_as_the_same_flows_one_by_one()
    {
        // Three pods, one table entry each, sources and destinations crossed, so a flow given
        // another entry's (or the other side's) labels lands in a wrong series.
        string[] pods = ["web-1", "db-0", "cache-2"];
        var endpoints = pods.Select((pod, i) => PodFlow("shop", pod, "shop", "x", 0, sourceZone: $"zone-{i}").Source).ToArray();
        var flows = Enumerable.Range(0, 9).Select(i => PodFlow("shop", "x", "shop", "y", txBytes: (ulong)(100 + i), rxBytes: (ulong)i, sourceIp: $"10.244.1.{i}", destinationIp: $"10.244.2.{i % 4}") with
        {
            Source = endpoints[i % 3],
            Destination = endpoints[(i / 3 + 1) % 3],
        }).ToArray();
        var decoded = FlowWire.DecodeEnriched(FlowWire.Encode(Batch("node-a", "boot", 1, flows)));
        Assert.Equal(3, decoded.Endpoints.Count);

        var byTable = Store(FlowLabels.All.Keys.Order().ToList());
        var oneByOne = Store(FlowLabels.All.Keys.Order().ToList());
        byTable.Apply(decoded);
        byTable.Apply(decoded);
        foreach (var flow in flows)
        {
            oneByOne.Apply([flow]);
            oneByOne.Apply([flow]);
        }

        Assert.Equal(oneByOne.Count, byTable.Count);
        foreach (var flow in flows)
        {
            var values = Values(byTable.LabelNames, flow);
            Assert.Equal(oneByOne.Find(values), byTable.Find(values));
        }
    }

    [Fact]
    public void Dropping_labels_sums_the_series_they_told_apart()
    {
        var labels = FlowLabels.NamespaceLevel;
        var store = Store(labels);
        store.Apply(
        [
            PodFlow("shop", "web-1", "db", "db-0", txBytes: 100, sourceIp: "10.244.1.10"),
            PodFlow("shop", "web-2", "db", "db-1", txBytes: 50, sourceIp: "10.244.1.11", destinationIp: "10.244.2.21"),
            PodFlow("shop", "web-3", "cache", "redis-0", txBytes: 5, sourceIp: "10.244.1.12"),
        ]);

        Assert.Equal(2, store.Count);
        Assert.Equal(150UL, store.Find(Values(labels, PodFlow("shop", "x", "db", "y", 0)))![0]);
        Assert.Equal(5UL, store.Find(Values(labels, PodFlow("shop", "x", "cache", "y", 0)))![0]);
    }

    [Fact]
    public void Label_values_follow_egressd_and_are_empty_when_unknown()
    {
        var flow = PodFlow("shop", "web-1", "db", "db-0", txBytes: 1, protocol: 17, trafficClass: TrafficClass.CrossZone) with
        {
            DestinationService = "db/postgres",
            DestinationDnsName = "db.example.com",
        };
        string Value(string label, FlowRow f) => FlowLabels.All[label].ValueOf(f, Context);

        Assert.Equal("UDP", Value("proto", flow));
        Assert.Equal("TCP", FlowLabels.Protocol(6));
        Assert.Equal("SCTP", FlowLabels.Protocol(132));
        Assert.Equal("ICMP", FlowLabels.Protocol(1));
        Assert.Equal("ICMPv6", FlowLabels.Protocol(58));
        Assert.Equal("47", FlowLabels.Protocol(47));
        Assert.Equal("true", Value("cross_zone", flow));
        Assert.Equal("false", Value("cross_zone", PodFlow("a", "p", "b", "q", 1, sourceZone: "z", destinationZone: "z")));
        Assert.Equal("false", Value("cross_zone", PodFlow("a", "p", "b", "q", 1, sourceZone: "z", destinationZone: "")));
        Assert.Equal("private", Value("dst_ip_type", flow));
        Assert.Equal("public", Value("dst_ip_type", flow with { TrafficClass = TrafficClass.Internet }));
        Assert.Equal("cross-zone", Value("traffic_class", flow));
        Assert.Equal("db/postgres", Value("dst_service", flow));
        Assert.Equal("db.example.com", Value("dst_dns_name", flow));
        Assert.Equal("web", Value("src_workload", flow));
        Assert.Equal("region-1", Value("dst_region", flow));

        // What today's enricher sends: nothing known but the addresses.
        var bare = BareFlow("10.244.1.10", "198.18.7.9", 1);
        Assert.Equal("public", Value("dst_ip_type", bare));
        Assert.Equal("private", Value("dst_ip_type", BareFlow("10.244.1.10", "fd00:10:244:2::14", 1)));
        Assert.Equal("public", Value("dst_ip_type", BareFlow("10.244.1.10", "0.0.0.0", 1)));
        foreach (var (ip, type) in new[]
        {
            ("172.16.0.1", "private"), ("172.31.255.255", "private"), ("172.32.0.1", "public"), ("192.168.1.1", "private"),
            ("100.64.0.1", "private"), ("11.0.0.1", "public"), ("::ffff:10.0.0.1", "private"), ("2001:db8::1", "public"),
        })
        {
            Assert.True(type == Value("dst_ip_type", BareFlow("10.244.1.10", ip, 1)), $"{ip} should be {type}");
        }

        Assert.Equal("false", Value("cross_zone", bare));
        Assert.Equal("unknown", Value("traffic_class", bare));
        foreach (var label in new[] { "src_pod", "src_namespace", "src_node", "src_zone", "dst_pod", "dst_namespace", "dst_node", "dst_zone", "dst_service", "dst_dns_name", "src_workload", "dst_region" })
        {
            Assert.Equal("", Value(label, bare));
        }

        // The private ranges come from configuration.
        var custom = new FlowLabelContext(new PublicAddresses(CidrSet.Parse(["198.18.0.0/15"])));
        Assert.Equal("private", FlowLabels.All["dst_ip_type"].ValueOf(bare, custom));
    }

    [Fact]
    public void Series_idle_for_the_idle_time_are_removed_and_their_label_values_freed()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var store = Store(idle: TimeSpan.FromMinutes(5), time: time);
        var quiet = PodFlow("shop", "old-1", "db", "db-0", txBytes: 10, sourceIp: "10.244.9.9");
        var busy = PodFlow("shop", "web-1", "db", "db-0", txBytes: 10);
        store.Apply([quiet, busy]);
        var valuesWithBoth = store.InternedValues;

        time.Advance(TimeSpan.FromMinutes(3));
        store.Apply([busy]);
        Assert.Equal(0, store.RemoveIdle());

        time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        Assert.Equal(1, store.RemoveIdle());
        Assert.Equal(1, store.Count);
        Assert.Null(store.Find(Values(FlowLabels.PodLevel, quiet)));
        Assert.Equal(20UL, store.Find(Values(FlowLabels.PodLevel, busy))![0]);
        // old-1 and 10.244.9.9 were only the quiet series'.
        Assert.Equal(valuesWithBoth - 2, store.InternedValues);

        // A flow for the removed series starts it again from this flow alone.
        store.Apply([quiet]);
        Assert.Equal(10UL, store.Find(Values(FlowLabels.PodLevel, quiet))![0]);
        Assert.Equal(valuesWithBoth, store.InternedValues);
    }

    [Fact]
    public void Cap_holds_under_a_flood_of_distinct_values_and_counts_what_it_refused()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var store = Store(maxSeries: 1000, idle: TimeSpan.FromMinutes(1), time: time);
        var first = PodFlow("shop", "web-1", "db", "db-0", txBytes: 1);
        store.Apply([first]);
        var valuesBefore = store.InternedValues;

        var refused = 0;
        for (var batch = 0; batch < 20; batch++)
        {
            var flows = Enumerable.Range(0, 5000)
                .Select(i => PodFlow("shop", "web-1", "db", "db-0", txBytes: 1, destinationIp: $"10.{batch}.{i / 250}.{i % 250}"))
                .ToList();
            refused += store.Apply(flows).Refused;
        }

        Assert.Equal(1000, store.Count);
        Assert.Equal((20 * 5000) - 999, refused);
        // Refused flows leave none of their values behind: only the 999 accepted addresses were added.
        Assert.Equal(valuesBefore + 999, store.InternedValues);

        // Series already there keep counting at the cap.
        var result = store.Apply([first]);
        Assert.Equal((1, 0), (result.Applied, result.Refused));
        Assert.Equal(2UL, store.Find(Values(FlowLabels.PodLevel, first))![0]);

        // Room again once series expire.
        time.Advance(TimeSpan.FromMinutes(2));
        store.Apply([first]);
        Assert.Equal(999, store.RemoveIdle());
        var fresh = PodFlow("shop", "web-9", "db", "db-0", txBytes: 5, sourceIp: "10.244.7.7");
        Assert.Equal(1, store.Apply([fresh]).Created);
        Assert.Equal(2, store.Count);
    }

    [Fact]
    public void An_address_whose_value_was_freed_and_its_id_reused_is_labelled_with_its_own_text()
    {
        // Address labels are found by address across batches; the id of a freed address goes to
        // the next new value, and the old address must not keep pointing at it.
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var store = Store(idle: TimeSpan.FromMinutes(1), time: time);
        var first = PodFlow("shop", "web-1", "db", "db-0", txBytes: 1, destinationIp: "10.244.5.1");
        store.Apply([first]);
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, store.RemoveIdle());

        var second = PodFlow("shop", "web-1", "db", "db-0", txBytes: 2, destinationIp: "10.244.5.2");
        store.Apply([second]);
        // A refused-then-freed value in the same batch as a kept one: zero deltas create nothing.
        store.Apply([first with { Flow = first.Flow with { TxBytes = 0 } }, first]);

        Assert.Equal(2, store.Count);
        Assert.Equal(1UL, store.Find(Values(FlowLabels.PodLevel, first))![0]);
        Assert.Equal(2UL, store.Find(Values(FlowLabels.PodLevel, second))![0]);
    }

    [Fact]
    public void Series_come_and_go_for_many_windows_and_every_flow_still_finds_its_own()
    {
        // Churn through the index: thousands of series created, expired at random and created
        // again, checked against a plain dictionary. An index entry lost on removal shows as a
        // second series for one label set (more series than the model), one left behind as flows
        // counted into a freed series (fewer).
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        string[] labels = ["dst_ip", "src_ip"];
        var store = Store(labels, maxSeries: 10_000, idle: TimeSpan.FromMinutes(1), time: time);
        var random = new Random(20261128);
        var model = new Dictionary<(int Source, int Destination), (ulong Bytes, DateTimeOffset Touched)>();
        for (var window = 0; window < 60; window++)
        {
            var flows = new List<FlowRow>();
            var inBatch = new HashSet<(int, int)>();
            for (var i = 0; i < 400; i++)
            {
                var key = (random.Next(40), random.Next(100));
                if (inBatch.Add(key))
                {
                    var bytes = (ulong)random.Next(1, 1000);
                    flows.Add(BareFlow($"10.1.0.{key.Item1}", $"10.2.0.{key.Item2}", bytes));
                    model[key] = (model.GetValueOrDefault(key).Bytes + bytes, time.GetUtcNow());
                }
            }

            var result = store.Apply(flows);
            Assert.Equal(flows.Count, result.Applied);
            time.Advance(TimeSpan.FromSeconds(random.Next(0, 40)));
            var expired = model.Where(m => time.GetUtcNow() - m.Value.Touched > TimeSpan.FromMinutes(1)).Select(m => m.Key).ToList();
            Assert.Equal(expired.Count, store.RemoveIdle());
            expired.ForEach(k => model.Remove(k));
            Assert.Equal(model.Count, store.Count);
        }

        Assert.True(model.Count > 500, $"only {model.Count} series at the end: the churn did not fill the index");
        foreach (var ((source, destination), (bytes, _)) in model)
        {
            Assert.Equal(bytes, store.Find([$"10.2.0.{destination}", $"10.1.0.{source}"])![0]);
        }
    }

    [Fact]
    public void Flows_with_nothing_to_count_create_no_series()
    {
        var store = Store();
        store.Apply([PodFlow("shop", "web-1", "db", "db-0", txBytes: 0, rxBytes: 0, txPackets: 0, rxPackets: 0)]);
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.InternedValues);
    }
}
