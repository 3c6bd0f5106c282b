using System.Globalization;
using System.Runtime.Serialization;
using Egressd.Contracts;
using Egressd.Shared.Wire;
using Egressd.Tests.Infrastructure;
using Egressd.Tests.Samples;

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

        Assert.Equal(sample.Header, back.Header);
        Assert.Equal(sample.Flows, back.Flows);
        Assert.Equal(sample.DnsAnswers, back.DnsAnswers);
    }

    [Fact]
    public void Enriched_batch_round_trips_field_for_field_with_its_endpoint_table()
    {
        var sample = ContractSnapshotTests.Enriched;
        var flow = sample.Flows[0];
        var many = sample with
        {
            Endpoints = [.. sample.Endpoints, FlowEndpoint.Unknown],
            Flows = [flow, flow with { DestinationEndpoint = 2, DestinationService = null, DestinationDnsName = null, TrafficClass = TrafficClass.Internet }, flow with { SourceEndpoint = 1, DestinationEndpoint = 0 }],
        };

        var back = FlowWire.DecodeEnriched(FlowWire.Encode(many));

        Assert.Equal(many.Header, back.Header);
        Assert.Equal(many.Endpoints, back.Endpoints);
        Assert.Equal(many.Flows, back.Flows);
        Assert.Equal(many.Endpoints[1], back.DestinationOf(0));
        Assert.Equal(FlowEndpoint.Unknown, back.DestinationOf(1));
        Assert.Equal(many.Endpoints[1], back.SourceOf(2));
    }

    [Fact]
    public void A_flow_whose_end_is_outside_the_endpoint_table_is_not_encoded()
    {
        var sample = ContractSnapshotTests.Enriched;
        var outside = sample with { Flows = [sample.Flows[0] with { DestinationEndpoint = 2 }] };

        Assert.Contains("refers to endpoint 2", Assert.Throws<ArgumentException>(() => FlowWire.Encode(outside)).Message);
    }

    [Fact]
    public void A_collected_part_is_held_published_and_checkpointed_as_its_body()
    {
        var sample = ContractSnapshotTests.Collected;
        var part = EncodedFlowBatch.Encode(sample);

        Assert.Equal(sample.Header, part.Header);
        Assert.Equal(1, part.FlowCount);
        Assert.Equal(FlowWire.Encode(sample), part.Body.ToArray());
        Assert.Equal(sample.Flows, part.Decode().Flows);
        var read = EncodedFlowBatch.Read(part.Body.ToArray());
        Assert.Equal((sample.Header, 1), (read.Header, read.FlowCount));
        Assert.Throws<SerializationException>(() => EncodedFlowBatch.Read([0xFF, 0xFF, 0xFF]));
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
        // A change to these bytes is a change of the wire every service reads; see ContractSnapshotTests for updating.
        AssertPinned("FlowBatchCollected.v2", FlowWire.Encode(ContractSnapshotTests.Collected));
        AssertPinned("FlowBatchEnriched.v2", FlowWire.Encode(ContractSnapshotTests.Enriched));
    }

    [Fact]
    public void Counter_directions_round_trip_separate_ones_cost_no_byte_and_unknown_ones_are_refused()
    {
        var collected = ContractSnapshotTests.Collected;
        var combined = collected with { Header = collected.Header with { CounterDirections = FlowCounterDirections.Combined } };
        Assert.Equal(FlowCounterDirections.Combined, FlowWire.DecodeCollected(FlowWire.Encode(combined)).Header.CounterDirections);
        Assert.Equal(FlowCounterDirections.Combined, FlowWire.DecodeEnriched(FlowWire.Encode(ContractSnapshotTests.Enriched)).Header.CounterDirections);

        // Separate is proto3's default: not written.
        var enriched = ContractSnapshotTests.Enriched;
        var separate = enriched with { Header = enriched.Header with { CounterDirections = FlowCounterDirections.Separate } };
        Assert.Equal(FlowWire.Encode(enriched).Length - 2, FlowWire.Encode(separate).Length);
        Assert.Equal(FlowCounterDirections.Separate, FlowWire.DecodeEnriched(FlowWire.Encode(separate)).Header.CounterDirections);

        var withField = Egressd.Shared.Wire.V2.FlowBatchEnriched.Parser.ParseFrom(FlowWire.Encode(enriched));
        withField.Header.CounterDirections = (Egressd.Shared.Wire.V2.FlowCounterDirections)9;
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
        var sample = ContractSnapshotTests.Enriched;
        var oddIds = sample.Header with { Id = sample.Header.Id with { Part = -1, PartCount = 0, Window = long.MinValue, BootId = "" } };
        FlowBatchEnriched[] enriched =
        [
            sample,
            EnrichedRows.Batch(node, sample.Header),
            EnrichedRows.Batch(v6, sample.Header with { CounterDirections = FlowCounterDirections.Combined }),
            EnrichedRows.Batch(node.Take(50).Select(f => f with { Source = empty, DestinationService = null, DestinationDnsName = "" }), sample.Header),
            sample with { Header = oddIds, Endpoints = [], Flows = [] },
        ];
        foreach (var batch in enriched)
        {
            var body = FlowWire.Encode(batch);
            Assert.Equal(Convert.ToHexString(Google.Protobuf.MessageExtensions.ToByteArray(Egressd.Shared.Wire.V2.FlowBatchEnriched.Parser.ParseFrom(body))), Convert.ToHexString(body));
            var back = FlowWire.DecodeEnriched(body);
            Assert.Equal(batch.Endpoints, back.Endpoints);
            Assert.Equal(batch.Flows, back.Flows);
        }

        FlowBatchCollected[] collected =
        [
            ContractSnapshotTests.Collected,
            ContractSnapshotTests.Collected with { Flows = [.. v6.Select(f => f.Flow)], Header = ContractSnapshotTests.Collected.Header with { Source = FlowSource.Cilium } },
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
        var enriched = NodeWindowSample.Batch(5000);
        var collected = ContractSnapshotTests.Collected with { Flows = [.. enriched.Flows.Select(f => f.Flow)], DnsAnswers = [] };
        var collectedBytes = FlowWire.Encode(collected).Length / (double)enriched.Flows.Count;
        var enrichedBytes = FlowWire.Encode(enriched).Length / (double)enriched.Flows.Count;
        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"collected {collectedBytes:F1} B/flow, enriched {enrichedBytes:F1} B/flow"));

        Assert.InRange(collectedBytes, 1, 24);
        Assert.InRange(enrichedBytes, 1, 64);
    }

    [Fact]
    public void Bodies_that_break_the_format_are_refused_with_what_is_wrong()
    {
        var good = V2Message(FlowWire.Encode(ContractSnapshotTests.Collected));

        var noId = good.Clone();
        noId.Header.Id = null;
        Assert.Contains("no id", Refused(noId));

        var noHeader = good.Clone();
        noHeader.Header = null;
        Assert.Contains("no id", Refused(noHeader));

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
        var file = Repo.Path("tests", "Egressd.Tests.Unit", "Snapshots", name + ".hex");
        if (Environment.GetEnvironmentVariable("EGRESSD_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(file, actual);
        }

        Assert.True(File.Exists(file), $"No snapshot {file}; run with EGRESSD_UPDATE_SNAPSHOTS=1 to write it.");
        Assert.Equal(File.ReadAllText(file), actual);
    }
}
