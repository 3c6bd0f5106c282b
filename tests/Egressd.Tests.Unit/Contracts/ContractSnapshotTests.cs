using System.Text.Json;
using System.Text.Json.Nodes;
using Egressd.Contracts;
using Egressd.Tests.Infrastructure;
using MassTransit;
using MassTransit.Serialization;

namespace Egressd.Tests.Contracts;

/// <summary>
/// Pins the wire: the message type name MassTransit routes on and the JSON shape of a full sample
/// of each contract. A rename breaks every consumer already deployed, so it must fail here first.
/// To accept an intended, additive change: EGRESSD_UPDATE_SNAPSHOTS=1 ./test.sh, then review the diff.
/// </summary>
public sealed class ContractSnapshotTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static readonly BatchId Id = new() { Node = "node-a", BootId = "0123456789abcdef", Window = 42, Part = 1, PartCount = 3 };

    private static readonly FlowRecord Flow = new()
    {
        SourceIp = IpAddr.Parse("10.244.1.10"),
        DestinationIp = IpAddr.Parse("fd00:10:244:2::14"),
        OriginalDestinationIp = IpAddr.Parse("10.96.0.15"),
        Protocol = 6,
        TxBytes = 1,
        RxBytes = 2,
        TxPackets = 3,
        RxPackets = 4,
    };

    public static FlowBatchCollected Collected => new()
    {
        Header = new BatchHeader
        {
            Id = Id,
            Node = "node-a",
            WindowStart = Start,
            WindowEnd = Start.AddSeconds(5),
            Source = FlowSource.Netfilter,
        },
        Flows = [Flow],
        DnsAnswers = [new DnsAnswer { Ip = IpAddr.Parse("198.18.7.9"), Name = "api.example.com", ExpiresAt = Start.AddMinutes(5) }],
    };

    public static FlowBatchEnriched Enriched => new()
    {
        Header = new BatchHeader
        {
            Id = Id,
            Node = "node-a",
            WindowStart = Start,
            WindowEnd = Start.AddSeconds(5),
            Source = FlowSource.Cilium,
            CounterDirections = FlowCounterDirections.Combined,
        },
        Endpoints =
        [
            new FlowEndpoint { Pod = "web-1", Namespace = "shop", Node = "node-a", Zone = "zone-a", Region = "region-1", WorkloadKind = "Deployment", WorkloadName = "web" },
            new FlowEndpoint { Pod = "db-0", Namespace = "shop", Node = "node-b", Zone = "zone-b", Region = "region-1", WorkloadKind = "StatefulSet", WorkloadName = "db" },
        ],
        Flows =
        [
            new EnrichedFlow
            {
                Flow = Flow,
                SourceEndpoint = 0,
                DestinationEndpoint = 1,
                DestinationService = "shop/db",
                DestinationDnsName = "db.shop.svc.cluster.local",
                TrafficClass = TrafficClass.CrossZone,
                Cost = new FlowCharges { Egress = 10, Ingress = 20, Nat = 0 },
            },
        ],
    };

    [Fact]
    public void FlowBatchCollected_wire_shape_is_pinned() => AssertSnapshot("FlowBatchCollected", Collected);

    [Fact]
    public void FlowBatchEnriched_wire_shape_is_pinned() => AssertSnapshot("FlowBatchEnriched", Enriched);

    [Fact]
    public void Every_contract_round_trips_through_the_bus_serializer()
    {
        // Batches travel in egressd's wire, but the contracts stay records that MassTransit's JSON, the bus's default serializer, reads back.
        var collected = Roundtrip(Collected);
        Assert.Equal(Collected.Header, collected.Header);
        Assert.Equal(Collected.Flows, collected.Flows);
        Assert.Equal(Collected.DnsAnswers, collected.DnsAnswers);
        var enriched = Roundtrip(Enriched);
        Assert.Equal(Enriched.Header, enriched.Header);
        Assert.Equal(Enriched.Endpoints, enriched.Endpoints);
        Assert.Equal(Enriched.Flows, enriched.Flows);
        Assert.Equal(FlowCounterDirections.Combined, enriched.Header.CounterDirections);
    }

    private static T Roundtrip<T>(T value) =>
        JsonSerializer.Deserialize<T>(JsonSerializer.Serialize(value, SystemTextJsonMessageSerializer.Options), SystemTextJsonMessageSerializer.Options)!;

    private static void AssertSnapshot<T>(string name, T sample)
        where T : class
    {
        var document = new JsonObject
        {
            ["messageType"] = MessageUrn.ForTypeString<T>(),
            ["sample"] = JsonSerializer.SerializeToNode(sample, SystemTextJsonMessageSerializer.Options),
        };
        var actual = document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        var file = Repo.Path("tests", "Egressd.Tests.Unit", "Snapshots", name + ".json");
        if (Environment.GetEnvironmentVariable("EGRESSD_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(file, actual);
        }

        Assert.True(File.Exists(file), $"No snapshot {file}; run with EGRESSD_UPDATE_SNAPSHOTS=1 to write it.");
        Assert.Equal(File.ReadAllText(file), actual);
    }
}
