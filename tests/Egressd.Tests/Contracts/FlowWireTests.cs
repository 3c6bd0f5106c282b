using System.Globalization;
using System.Runtime.Serialization;
using System.Text.Json;
using Egressd.Contracts;
using Egressd.Shared.Wire;
using Egressd.Tests.Infrastructure;
using Egressd.Tests.Samples;
using MassTransit.Serialization;

namespace Egressd.Tests.Contracts;

/// <summary>
/// The bus wire v2: exact round trips, the bytes pinned, the sizes the format exists for, and
/// bodies that break it refused with a reason.
/// </summary>
public sealed class FlowWireTests
{
    [Fact]
    public void Collected_batch_round_trips_field_for_field()
    {
        var sample = ContractSnapshotTests.Collected;
        var back = FlowWire.DecodeCollected(FlowWire.Encode(sample));

        Assert.Equal(sample.Id, back.Id);
        Assert.Equal((sample.Node, sample.WindowStart, sample.WindowEnd, sample.Source), (back.Node, back.WindowStart, back.WindowEnd, back.Source));
        Assert.Equal(sample.Flows, back.Flows);
        Assert.Equal(sample.DnsAnswers, back.DnsAnswers);
    }

    [Fact]
    public void Enriched_batch_round_trips_field_for_field_and_shares_each_endpoint()
    {
        var sample = ContractSnapshotTests.Enriched;
        var pod = sample.Flows[0].Source;
        var many = sample with
        {
            Flows = [.. sample.Flows, sample.Flows[0] with { Destination = FlowEndpoint.Unknown, DestinationService = null, DestinationDnsName = null, TrafficClass = TrafficClass.Internet }, sample.Flows[0]],
        };

        var back = FlowWire.DecodeEnriched(FlowWire.Encode(many));

        Assert.Equal(many.Id, back.Id);
        Assert.Equal((many.Node, many.WindowStart, many.WindowEnd, many.Source), (back.Node, back.WindowStart, back.WindowEnd, back.Source));
        Assert.Equal(many.Flows, back.Flows);
        // One object per endpoint of the batch, as the enricher shares them, and each flow says which entry of the table.
        Assert.Same(back.Flows[0].Source, back.Flows[2].Source);
        Assert.Equal(pod, back.Flows[1].Source);
        Assert.Same(back.Flows[0].Source, back.Flows[1].Source);
        var table = Assert.IsType<EndpointTableFlows>(back.Flows);
        Assert.Same(table, EndpointTableFlows.Of(table));
        for (var i = 0; i < table.Count; i++)
        {
            Assert.Same(table.Endpoints[table.SourceIndex(i)], table[i].Source);
            Assert.Same(table.Endpoints[table.DestinationIndex(i)], table[i].Destination);
        }

        Assert.Equal(table.Endpoints.Count, table.SelectMany(f => new[] { f.Source, f.Destination }).Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public void Flows_from_elsewhere_get_a_table_of_their_distinct_endpoint_objects()
    {
        var shared = new FlowEndpoint { Pod = "api-0", Namespace = "shop" };
        var alike = new FlowEndpoint { Pod = "api-0", Namespace = "shop" };
        var flow = ContractSnapshotTests.Enriched.Flows[0];
        EnrichedFlow[] flows = [flow with { Source = shared, Destination = alike }, flow with { Source = alike, Destination = shared }, flow with { Source = shared, Destination = shared }];

        var table = EndpointTableFlows.Of(flows);

        Assert.Equal(flows, table);
        // By reference: equal endpoints that are separate objects (the first release's JSON) stay separate entries.
        Assert.Equal(2, table.Endpoints.Count);
        Assert.Equal([0, 1, 0], Enumerable.Range(0, 3).Select(table.SourceIndex));
        Assert.Equal([1, 0, 0], Enumerable.Range(0, 3).Select(table.DestinationIndex));
        Assert.Same(shared, table.Endpoints[0]);
        Assert.Same(alike, table.Endpoints[1]);
    }

    [Fact]
    public void Both_address_families_and_absent_fields_round_trip()
    {
        FlowRecord[] flows =
        [
            Flow("10.0.0.1", "fd00::1", null, 6),
            Flow("fd00::2", "198.18.0.1", "10.96.0.1", 17),
            Flow("10.0.0.1", "10.0.0.1", "fd00::1", 1) with { TxBytes = 0, RxBytes = ulong.MaxValue },
        ];
        var batch = ContractSnapshotTests.Collected with { Flows = flows, DnsAnswers = [] };

        Assert.Equal(flows, FlowWire.DecodeCollected(FlowWire.Encode(batch)).Flows);
        Assert.Empty(FlowWire.DecodeCollected(FlowWire.Encode(batch with { Flows = [] })).Flows);
    }

    [Fact]
    public void Wire_v2_bytes_are_pinned()
    {
        // A change to these bytes breaks every service already deployed; see ContractSnapshotTests for updating.
        AssertPinned("FlowBatchCollected.v2", FlowWire.Encode(ContractSnapshotTests.Collected));
        AssertPinned("FlowBatchEnriched.v2", FlowWire.Encode(ContractSnapshotTests.Enriched));
    }

    [Fact]
    public void Counter_directions_round_trip_separate_ones_cost_no_byte_and_unknown_ones_are_refused()
    {
        var combined = ContractSnapshotTests.Collected with { CounterDirections = FlowCounterDirections.Combined };
        Assert.Equal(FlowCounterDirections.Combined, FlowWire.DecodeCollected(FlowWire.Encode(combined)).CounterDirections);
        Assert.Equal(FlowCounterDirections.Combined, FlowWire.DecodeEnriched(FlowWire.Encode(ContractSnapshotTests.Enriched)).CounterDirections);

        // Separate is proto3's default: not written, so a body from before the field existed is read the same.
        var separate = ContractSnapshotTests.Enriched with { CounterDirections = FlowCounterDirections.Separate };
        Assert.Equal(FlowWire.Encode(ContractSnapshotTests.Enriched).Length - 2, FlowWire.Encode(separate).Length);
        Assert.Equal(FlowCounterDirections.Separate, FlowWire.DecodeEnriched(FlowWire.Encode(separate)).CounterDirections);

        var withField = Egressd.Shared.Wire.V2.FlowBatchEnriched.Parser.ParseFrom(FlowWire.Encode(ContractSnapshotTests.Enriched));
        withField.CounterDirections = (Egressd.Shared.Wire.V2.FlowCounterDirections)9;
        Assert.Contains("counter directions 9", Assert.Throws<SerializationException>(() => FlowWire.DecodeEnriched(Google.Protobuf.MessageExtensions.ToByteArray(withField))).Message);
    }

    [Fact]
    public void Bodies_are_the_bytes_Google_Protobuf_writes_for_the_same_message()
    {
        // The encoder writes protobuf by hand; Google.Protobuf re-writing what it parsed must give
        // back every byte, for batches of every shape: both families, rewritten destinations, DNS
        // answers, empty strings, columns left out, large counters, negative and empty ids.
        var node = NodeWindowSample.Flows(3000);
        var v6 = node.Select((f, i) => i % 3 == 0
            ? f with { Flow = Flow("fd00::" + (i % 200).ToString("x", CultureInfo.InvariantCulture), "198.18.0.7", i % 2 == 0 ? "10.96.0.1" : null, 17) with { TxBytes = ulong.MaxValue - (ulong)i } }
            : f).ToArray();
        var empty = new FlowEndpoint { Pod = "", Namespace = "ns", Zone = "" };
        var oddIds = ContractSnapshotTests.Enriched with { Id = ContractSnapshotTests.Enriched.Id with { Part = -1, PartCount = 0, Window = long.MinValue, BootId = "" } };
        FlowBatchEnriched[] enriched =
        [
            ContractSnapshotTests.Enriched,
            ContractSnapshotTests.Enriched with { Flows = node },
            ContractSnapshotTests.Enriched with { Flows = v6, CounterDirections = FlowCounterDirections.Combined },
            ContractSnapshotTests.Enriched with { Flows = [.. node.Take(50).Select(f => f with { Source = empty, DestinationService = null, DestinationDnsName = "" })] },
            oddIds with { Flows = [] },
        ];
        foreach (var batch in enriched)
        {
            var body = FlowWire.Encode(batch);
            Assert.Equal(Convert.ToHexString(Google.Protobuf.MessageExtensions.ToByteArray(Egressd.Shared.Wire.V2.FlowBatchEnriched.Parser.ParseFrom(body))), Convert.ToHexString(body));
            Assert.Equal(batch.Flows, FlowWire.DecodeEnriched(body).Flows);
        }

        FlowBatchCollected[] collected =
        [
            ContractSnapshotTests.Collected,
            ContractSnapshotTests.Collected with { Flows = [.. v6.Select(f => f.Flow)], Source = FlowSource.Cilium },
            ContractSnapshotTests.Collected with { Flows = [], DnsAnswers = [new DnsAnswer { Ip = IpAddr.Parse("fd00::9"), Name = "", ExpiresAt = DateTimeOffset.UnixEpoch }] },
        ];
        foreach (var batch in collected)
        {
            var body = FlowWire.Encode(batch);
            Assert.Equal(Convert.ToHexString(Google.Protobuf.MessageExtensions.ToByteArray(Egressd.Shared.Wire.V2.FlowBatchCollected.Parser.ParseFrom(body))), Convert.ToHexString(body));
            Assert.Equal(batch.Flows, FlowWire.DecodeCollected(body).Flows);
        }
    }

    [Fact]
    public void A_node_window_is_at_most_24_bytes_a_flow_collected_and_64_enriched()
    {
        var flows = NodeWindowSample.Flows(5000);
        var enriched = ContractSnapshotTests.Enriched with { Flows = flows };
        var collected = ContractSnapshotTests.Collected with { Flows = [.. flows.Select(f => f.Flow)], DnsAnswers = [] };
        var collectedBytes = FlowWire.Encode(collected).Length / (double)flows.Length;
        var enrichedBytes = FlowWire.Encode(enriched).Length / (double)flows.Length;
        var json = JsonSerializer.SerializeToUtf8Bytes(enriched, SystemTextJsonMessageSerializer.Options).Length / (double)flows.Length;
        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"collected {collectedBytes:F1} B/flow, enriched {enrichedBytes:F1} B/flow (JSON {json:F0})"));

        Assert.InRange(collectedBytes, 1, 24);
        Assert.InRange(enrichedBytes, 1, 64);
    }

    [Fact]
    public void Bodies_that_break_the_format_are_refused_with_what_is_wrong()
    {
        var good = V2Message(FlowWire.Encode(ContractSnapshotTests.Collected));

        var noId = good.Clone();
        noId.Id = null;
        Assert.Contains("no id", Refused(noId));

        var shortColumn = good.Clone();
        shortColumn.Flows.TxBytes.Add(5);
        Assert.Contains("column tx_bytes has 2 values for 1 flows", Refused(shortColumn));

        var pastTable = good.Clone();
        pastTable.Flows.Destination[0] = 99;
        Assert.Contains("refers to address 99, outside the table of", Refused(pastTable));

        var torn = good.Clone();
        torn.Addresses.Ipv4 = Google.Protobuf.ByteString.CopyFrom(1, 2, 3);
        Assert.Contains("not multiples of 4 and 16", Refused(torn));

        var answer = good.Clone();
        answer.DnsAnswers[0].Address = 1000;
        Assert.Contains("DNS answer 0 refers to address 1000", Refused(answer));

        Assert.Throws<SerializationException>(() => FlowWire.DecodeCollected([0xFF, 0xFF, 0xFF]));
        Assert.Throws<SerializationException>(() => FlowWire.DecodeEnriched("{\"flows\":[]}"u8));
    }

    [Fact]
    public void Enriched_texts_and_endpoints_outside_their_tables_are_refused()
    {
        var good = Egressd.Shared.Wire.V2.FlowBatchEnriched.Parser.ParseFrom(FlowWire.Encode(ContractSnapshotTests.Enriched));

        var endpoint = good.Clone();
        endpoint.DestinationEndpoint[0] = 7;
        Assert.Contains("refers to endpoint 7", Assert.Throws<SerializationException>(() => FlowWire.DecodeEnriched(Google.Protobuf.MessageExtensions.ToByteArray(endpoint))).Message);

        var text = good.Clone();
        text.Endpoints[0].Pod = 500;
        Assert.Contains("refers to text 499", Assert.Throws<SerializationException>(() => FlowWire.DecodeEnriched(Google.Protobuf.MessageExtensions.ToByteArray(text))).Message);

        var trafficClass = good.Clone();
        trafficClass.TrafficClass[0] = (Egressd.Shared.Wire.V2.TrafficClass)42;
        Assert.Contains("traffic class 42", Assert.Throws<SerializationException>(() => FlowWire.DecodeEnriched(Google.Protobuf.MessageExtensions.ToByteArray(trafficClass))).Message);
    }

    private static Egressd.Shared.Wire.V2.FlowBatchCollected V2Message(byte[] body) => Egressd.Shared.Wire.V2.FlowBatchCollected.Parser.ParseFrom(body);

    private static string Refused(Egressd.Shared.Wire.V2.FlowBatchCollected message) =>
        Assert.Throws<SerializationException>(() => FlowWire.DecodeCollected(Google.Protobuf.MessageExtensions.ToByteArray(message))).Message;

    private static FlowRecord Flow(string src, string dst, string? original, int protocol) => new()
    {
        SourceIp = IpAddr.Parse(src),
        DestinationIp = IpAddr.Parse(dst),
        OriginalDestinationIp = original is null ? null : IpAddr.Parse(original),
        Protocol = protocol,
        TxBytes = 1000,
        RxBytes = 20,
        TxPackets = 3,
        RxPackets = 4,
    };

    private static void AssertPinned(string name, byte[] body)
    {
        var actual = Convert.ToHexString(body).ToLowerInvariant() + "\n";
        var file = Repo.Path("tests", "Egressd.Tests", "Snapshots", name + ".hex");
        if (Environment.GetEnvironmentVariable("EGRESSD_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(file, actual);
        }

        Assert.True(File.Exists(file), $"No snapshot {file}; run with EGRESSD_UPDATE_SNAPSHOTS=1 to write it.");
        Assert.Equal(File.ReadAllText(file), actual);
    }
}
