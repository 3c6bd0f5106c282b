using System.Net.Mime;
using System.Runtime.Serialization;
using Egressd.Contracts;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace Egressd.Shared.Wire;

/// <summary>
/// egressd's bus wire, version 2 (<c>flows_v2.proto</c>): flow batches as tables of addresses,
/// texts and endpoints that column-wise flows refer to by index. Protobuf, because its packed
/// varint columns are what make a flow a couple of dozen bytes, and because the schema file lets
/// anyone read the bus without egressd's code (docs/ARCHITECTURE.md says why not MessagePack).
/// A body that breaks the format (an index outside its table, a column of the wrong length) is
/// refused with a <see cref="SerializationException"/> naming what is wrong, never half read.
/// </summary>
public static class FlowWire
{
    public static readonly ContentType ContentType = new("application/vnd.egressd.flows.v2+protobuf");

    /// <summary>The collected batch's message name, which an <see cref="EncodedFlowBatch"/> is published under.</summary>
    public const string CollectedMessageName = "Egressd.Contracts:" + nameof(FlowBatchCollected);

    private static readonly long EpochTicks = DateTimeOffset.UnixEpoch.UtcTicks;

    public static byte[] Encode(FlowBatchCollected batch) => Encode(encoder => encoder.Encode(batch));

    public static byte[] Encode(FlowBatchEnriched batch) => Encode(encoder => encoder.Encode(batch));

    private static byte[] Encode(Func<FlowWireEncoder, byte[]> encode)
    {
        var encoder = FlowWireEncoder.Pool.Get();
        try
        {
            return encode(encoder);
        }
        finally
        {
            FlowWireEncoder.Pool.Return(encoder);
        }
    }

    public static FlowBatchCollected DecodeCollected(ReadOnlySpan<byte> body)
    {
        var message = Parse(V2.FlowBatchCollected.Parser, body, nameof(FlowBatchCollected));
        var addresses = Decode(message.Addresses);
        var answers = new DnsAnswer[message.DnsAnswers.Count];
        for (var i = 0; i < answers.Length; i++)
        {
            var answer = message.DnsAnswers[i];
            answers[i] = new DnsAnswer
            {
                Ip = Address(addresses, answer.Address, "DNS answer", i),
                Name = answer.Name,
                ExpiresAt = FromUnixNanos(answer.ExpiresAtUnixNanos, "a DNS answer's expiry"),
            };
        }

        return new FlowBatchCollected
        {
            Header = Decode(message.Header),
            Flows = DecodeFlows(message.Flows, addresses, message.Texts),
            DnsAnswers = answers,
        };
    }

    public static FlowBatchEnriched DecodeEnriched(ReadOnlySpan<byte> body)
    {
        var message = Parse(V2.FlowBatchEnriched.Parser, body, nameof(FlowBatchEnriched));
        var header = Decode(message.Header);
        // Read straight into the enriched flows: a batch's records are not held twice.
        var records = new FlowColumnsReader(message.Flows, Decode(message.Addresses), message.Texts);
        var count = records.Count;
        var texts = message.Texts;
        string? Text(uint id, string what, int index) => id == 0 ? null
            : id <= (uint)texts.Count ? texts[(int)id - 1]
            : throw Invalid($"{what} {index} refers to text {id - 1}, outside the table of {texts.Count}");

        var endpoints = new FlowEndpoint[message.Endpoints.Count];
        for (var i = 0; i < endpoints.Length; i++)
        {
            var e = message.Endpoints[i];
            endpoints[i] = new FlowEndpoint
            {
                Pod = Text(e.Pod, "endpoint", i),
                Namespace = Text(e.Namespace, "endpoint", i),
                Node = Text(e.Node, "endpoint", i),
                Zone = Text(e.Zone, "endpoint", i),
                Region = Text(e.Region, "endpoint", i),
                WorkloadKind = Text(e.WorkloadKind, "endpoint", i),
                WorkloadName = Text(e.WorkloadName, "endpoint", i),
            };
        }

        int Endpoint(uint id, int flow) => id < (uint)endpoints.Length
            ? (int)id
            : throw Invalid($"flow {flow} refers to endpoint {id}, outside the table of {endpoints.Length}");

        var sources = Required(message.SourceEndpoint, count, "source_endpoint");
        var destinations = Required(message.DestinationEndpoint, count, "destination_endpoint");
        var services = Optional(message.DestinationService, count, "destination_service");
        var names = Optional(message.DestinationDnsName, count, "destination_dns_name");
        var classes = Optional(message.TrafficClass, count, "traffic_class");
        var costEgress = Optional(message.CostEgress, count, "cost_egress");
        var costIngress = Optional(message.CostIngress, count, "cost_ingress");
        var costNat = Optional(message.CostNat, count, "cost_nat");
        var flows = new EnrichedFlow[count];
        for (var i = 0; i < count; i++)
        {
            var trafficClass = classes is null ? TrafficClass.Unknown : (TrafficClass)classes[i];
            if (!Enum.IsDefined(trafficClass))
            {
                throw Invalid($"flow {i} has traffic class {(int)trafficClass}, which this version does not know");
            }

            flows[i] = new EnrichedFlow
            {
                Flow = records.Read(i),
                SourceEndpoint = Endpoint(sources[i], i),
                DestinationEndpoint = Endpoint(destinations[i], i),
                DestinationService = services is null ? null : Text(services[i], "flow", i),
                DestinationDnsName = names is null ? null : Text(names[i], "flow", i),
                TrafficClass = trafficClass,
                Cost = new FlowCharges
                {
                    Egress = Cost(costEgress, i, "cost_egress"),
                    Ingress = Cost(costIngress, i, "cost_ingress"),
                    Nat = Cost(costNat, i, "cost_nat"),
                },
            };
        }

        return new FlowBatchEnriched { Header = header, Endpoints = endpoints, Flows = flows };
    }

    private static long Cost(RepeatedField<ulong>? column, int flow, string name) =>
        column is null ? 0
        : column[flow] <= long.MaxValue ? (long)column[flow]
        : throw Invalid($"flow {flow} has {name} {column[flow]}, more than any window can cost");

    private static FlowRecord[] DecodeFlows(V2.FlowColumns? columns, IpAddr[] addresses, IList<string> texts)
    {
        var reader = new FlowColumnsReader(columns, addresses, texts);
        var flows = new FlowRecord[reader.Count];
        for (var i = 0; i < flows.Length; i++)
        {
            flows[i] = reader.Read(i);
        }

        return flows;
    }

    private static IpAddr[] Decode(V2.AddressTable? table)
    {
        if (table is null)
        {
            return [];
        }

        var v4 = table.Ipv4.Span;
        var v6 = table.Ipv6.Span;
        if (v4.Length % 4 != 0 || v6.Length % 16 != 0)
        {
            throw Invalid($"the address table has {v4.Length} IPv4 bytes and {v6.Length} IPv6 bytes, not multiples of 4 and 16");
        }

        var addresses = new IpAddr[(v4.Length / 4) + (v6.Length / 16)];
        var n4 = v4.Length / 4;
        for (var i = 0; i < n4; i++)
        {
            addresses[i] = IpAddr.FromV4(v4.Slice(i * 4, 4));
        }

        for (var i = n4; i < addresses.Length; i++)
        {
            addresses[i] = IpAddr.FromV6(v6.Slice((i - n4) * 16, 16));
        }

        return addresses;
    }

    internal static IpAddr Address(IpAddr[] addresses, uint index, string what, int at) =>
        index < (uint)addresses.Length
            ? addresses[index]
            : throw Invalid($"{what} {at} refers to address {index}, outside the table of {addresses.Length}");

    private static BatchHeader Decode(V2.BatchHeader? header)
    {
        if (header?.Id is not { } id)
        {
            throw Invalid("the batch has no id");
        }

        return new BatchHeader
        {
            Id = new BatchId { Node = id.Node, BootId = id.BootId, Window = id.Window, Part = id.Part, PartCount = id.PartCount },
            Node = header.Node,
            WindowStart = FromUnixNanos(header.WindowStartUnixNanos, "the window start"),
            WindowEnd = FromUnixNanos(header.WindowEndUnixNanos, "the window end"),
            Source = Decode(header.Source),
            CounterDirections = Decode(header.CounterDirections),
        };
    }

    private static FlowSource Decode(V2.FlowSource source) =>
        Enum.IsDefined((FlowSource)source) ? (FlowSource)source : throw Invalid($"flow source {(int)source} is not one this version knows");

    private static FlowCounterDirections Decode(V2.FlowCounterDirections directions) =>
        Enum.IsDefined((FlowCounterDirections)directions)
            ? (FlowCounterDirections)directions
            : throw Invalid($"counter directions {(int)directions} are not ones this version knows");

    internal static long UnixNanos(DateTimeOffset time) => checked((time.UtcTicks - EpochTicks) * 100);

    private static DateTimeOffset FromUnixNanos(long nanos, string what)
    {
        var ticks = EpochTicks + (nanos / 100);
        return ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks && nanos % 100 == 0
            ? new DateTimeOffset(ticks, TimeSpan.Zero)
            : throw Invalid($"{what} ({nanos} ns after 1970) is not a time");
    }

    private static T Parse<T>(Google.Protobuf.MessageParser<T> parser, ReadOnlySpan<byte> body, string type)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new SerializationException($"The body is not an egressd wire v2 {type}: {e.Message}", e);
        }
    }

    internal static RepeatedField<T> Required<T>(RepeatedField<T> column, int count, string name) =>
        column.Count == count ? column : throw Invalid($"column {name} has {column.Count} values for {count} flows");

    internal static RepeatedField<T>? Optional<T>(RepeatedField<T> column, int count, string name) =>
        column.Count == 0 ? null : Required(column, count, name);

    internal static SerializationException Invalid(string what) => new($"Not a valid egressd wire v2 batch: {what}.");
}
