using System.Runtime.InteropServices;
using Egressd.Contracts;
using Microsoft.Extensions.ObjectPool;

namespace Egressd.Shared.Wire;

/// <summary>
/// Writes batches as wire v2 bodies (<c>flows_v2.proto</c>) in one pass over their flows, into
/// tables and column buffers kept for the next batch: a busy service encodes hundreds of batches a
/// second, and building each one as Google.Protobuf messages first cost more than everything else
/// the enricher does to a flow. Encoders are lent out (<see cref="Pool"/>), one per batch being
/// encoded: a few are enough for a service's concurrent batches, and the collector, encoding one
/// part at a time, keeps a single set of buffers rather than one per thread it happens to run on.
/// </summary>
internal sealed class FlowWireEncoder
{
    public static readonly ObjectPool<FlowWireEncoder> Pool =
        new DefaultObjectPool<FlowWireEncoder>(new DefaultPooledObjectPolicy<FlowWireEncoder>(), Environment.ProcessorCount);

    private readonly AddressTableBuilder addresses = new();
    private readonly TextTableBuilder texts = new();

    private readonly ProtoBuffer body = new();
    private readonly ProtoBuffer message = new();
    private readonly ProtoBuffer header = new();
    private readonly ProtoBuffer columns = new();
    private readonly ProtoBuffer source = new();
    private readonly ProtoBuffer destination = new();
    private readonly ProtoBuffer original = new();
    private readonly ProtoBuffer protocol = new();
    private readonly ProtoBuffer txBytes = new();
    private readonly ProtoBuffer rxBytes = new();
    private readonly ProtoBuffer txPackets = new();
    private readonly ProtoBuffer rxPackets = new();
    private readonly ProtoBuffer sourcePod = new();
    private readonly ProtoBuffer sourceUnit = new();
    private readonly ProtoBuffer sourceEndpoint = new();
    private readonly ProtoBuffer destinationEndpoint = new();
    private readonly ProtoBuffer service = new();
    private readonly ProtoBuffer dnsName = new();
    private readonly ProtoBuffer trafficClass = new();
    private readonly ProtoBuffer costEgress = new();
    private readonly ProtoBuffer costIngress = new();
    private readonly ProtoBuffer costNat = new();

    // Address ids as handed out while flows are read; final once every address is in (IPv4 first).
    private int[] sources = [];
    private int[] destinations = [];
    private int[] originals = [];
    private bool translated;
    private bool owned;

    public byte[] Encode(FlowBatchCollected batch)
    {
        try
        {
            // DNS answers' addresses go in first: their place in the table is part of the pinned format.
            var answers = batch.DnsAnswers;
            Span<int> answerIds = answers.Count <= 64 ? stackalloc int[answers.Count] : new int[answers.Count];
            for (var i = 0; i < answers.Count; i++)
            {
                answerIds[i] = addresses.Add(answers[i].Ip);
            }

            var flows = Records(batch.Flows);
            Begin(flows.Length);
            for (var i = 0; i < flows.Length; i++)
            {
                AddFlow(flows[i], i);
            }

            WriteHeader(batch.Header);
            WriteFlows(flows.Length);
            foreach (var text in texts.Texts)
            {
                body.String(5, text);
            }

            for (var i = 0; i < answers.Count; i++)
            {
                var answer = answers[i];
                message.Clear();
                message.VarintField(1, addresses.Index(answerIds[i]));
                message.StringField(2, answer.Name);
                message.SignedField(3, FlowWire.UnixNanos(answer.ExpiresAt));
                body.Embedded(4, message.Written);
            }

            return body.ToArray();
        }
        finally
        {
            Clear();
        }
    }

    public byte[] Encode(FlowBatchEnriched batch)
    {
        try
        {
            // The endpoints' texts enter the table first, in the order the format pins: endpoint by
            // endpoint, each one's seven in field order.
            var endpoints = batch.Endpoints;
            foreach (var endpoint in endpoints)
            {
                texts.Add(endpoint.Pod);
                texts.Add(endpoint.Namespace);
                texts.Add(endpoint.Node);
                texts.Add(endpoint.Zone);
                texts.Add(endpoint.Region);
                texts.Add(endpoint.WorkloadKind);
                texts.Add(endpoint.WorkloadName);
            }

            var flows = Enriched(batch.Flows);
            Begin(flows.Length);
            var anyService = false;
            var anyName = false;
            var anyCost = false;
            for (var i = 0; i < flows.Length; i++)
            {
                ref readonly var flow = ref flows[i];
                AddFlow(flow.Flow, i);
                sourceEndpoint.Varint(EndpointIndex(flow.SourceEndpoint, endpoints.Count, i));
                destinationEndpoint.Varint(EndpointIndex(flow.DestinationEndpoint, endpoints.Count, i));
                var serviceId = texts.Add(flow.DestinationService);
                var nameId = texts.Add(flow.DestinationDnsName);
                service.Varint(serviceId);
                dnsName.Varint(nameId);
                anyService |= serviceId != 0;
                anyName |= nameId != 0;
                trafficClass.Varint((uint)flow.TrafficClass);
                var cost = flow.Cost;
                costEgress.Varint(checked((ulong)cost.Egress));
                costIngress.Varint(checked((ulong)cost.Ingress));
                costNat.Varint(checked((ulong)cost.Nat));
                anyCost |= !cost.IsZero;
            }

            WriteHeader(batch.Header);
            WriteFlows(flows.Length);
            foreach (var text in texts.Texts)
            {
                body.String(4, text);
            }

            foreach (var endpoint in endpoints)
            {
                message.Clear();
                message.VarintField(1, texts.Add(endpoint.Pod));
                message.VarintField(2, texts.Add(endpoint.Namespace));
                message.VarintField(3, texts.Add(endpoint.Node));
                message.VarintField(4, texts.Add(endpoint.Zone));
                message.VarintField(5, texts.Add(endpoint.Region));
                message.VarintField(6, texts.Add(endpoint.WorkloadKind));
                message.VarintField(7, texts.Add(endpoint.WorkloadName));
                body.Embedded(5, message.Written);
            }

            body.Packed(6, sourceEndpoint);
            body.Packed(7, destinationEndpoint);
            // An all-zero column (no flow to a service, no DNS name) is left out: one byte a flow saved.
            if (anyService)
            {
                body.Packed(8, service);
            }

            if (anyName)
            {
                body.Packed(9, dnsName);
            }

            body.Packed(10, trafficClass);
            // Cost off (or all traffic free): no cost columns, the body as before cost existed.
            if (anyCost)
            {
                body.Packed(11, costEgress);
                body.Packed(12, costIngress);
                body.Packed(13, costNat);
            }

            return body.ToArray();
        }
        finally
        {
            Clear();
        }
    }

    /// <summary>A flow's end, checked against the batch's table: a body never refers outside its tables.</summary>
    private static uint EndpointIndex(int index, int count, int flow) =>
        (uint)index < (uint)count
            ? (uint)index
            : throw new ArgumentException($"Flow {flow} refers to endpoint {index}, outside the batch's table of {count}.");

    private void Begin(int count)
    {
        if (sources.Length < count)
        {
            sources = new int[count];
            destinations = new int[count];
            originals = new int[count];
        }
    }

    private void AddFlow(in FlowRecord flow, int i)
    {
        sources[i] = addresses.Add(flow.SourceIp);
        destinations[i] = addresses.Add(flow.DestinationIp);
        if (flow.OriginalDestinationIp is { } rewritten)
        {
            originals[i] = addresses.Add(rewritten);
            translated = true;
        }
        else
        {
            originals[i] = int.MinValue;
        }

        protocol.Varint(checked((uint)flow.Protocol));
        txBytes.Varint(flow.TxBytes);
        rxBytes.Varint(flow.RxBytes);
        txPackets.Varint(flow.TxPackets);
        rxPackets.Varint(flow.RxPackets);
        var podId = texts.Add(flow.SourcePod);
        var unitId = texts.Add(flow.SourceUnit);
        sourcePod.Varint(podId);
        sourceUnit.Varint(unitId);
        owned |= podId != 0 || unitId != 0;
    }

    /// <summary>The header (field 1) and the address table (field 2), now that every address is in.</summary>
    private void WriteHeader(BatchHeader batch)
    {
        message.Clear();
        message.StringField(1, batch.Id.Node);
        message.StringField(2, batch.Id.BootId);
        message.SignedField(3, batch.Id.Window);
        message.SignedField(4, batch.Id.Part);
        message.SignedField(5, batch.Id.PartCount);
        header.Clear();
        header.Embedded(1, message.Written);
        header.StringField(2, batch.Node);
        header.SignedField(3, FlowWire.UnixNanos(batch.WindowStart));
        header.SignedField(4, FlowWire.UnixNanos(batch.WindowEnd));
        header.VarintField(5, (uint)batch.Source);
        header.VarintField(6, (uint)batch.CounterDirections);
        body.Embedded(1, header.Written);
        message.Clear();
        addresses.WriteTo(message);
        body.Embedded(2, message.Written);
    }

    /// <summary>The flow columns (field 3), now that every address's index is final.</summary>
    private void WriteFlows(int count)
    {
        for (var i = 0; i < count; i++)
        {
            source.Varint(addresses.Index(sources[i]));
            destination.Varint(addresses.Index(destinations[i]));
        }

        if (translated)
        {
            for (var i = 0; i < count; i++)
            {
                original.Varint(originals[i] == int.MinValue ? 0 : addresses.Index(originals[i]) + 1);
            }
        }

        columns.Packed(1, source);
        columns.Packed(2, destination);
        columns.Packed(3, original);
        columns.Packed(4, protocol);
        columns.Packed(5, txBytes);
        columns.Packed(6, rxBytes);
        columns.Packed(7, txPackets);
        columns.Packed(8, rxPackets);
        if (owned)
        {
            columns.Packed(9, sourcePod);
            columns.Packed(10, sourceUnit);
        }

        body.Embedded(3, columns.Written);
    }

    private void Clear()
    {
        addresses.Clear();
        texts.Clear();
        translated = false;
        owned = false;
        foreach (var buffer in (ReadOnlySpan<ProtoBuffer>)[body, message, header, columns, source, destination, original, protocol, txBytes, rxBytes, txPackets, rxPackets, sourcePod, sourceUnit,
                     sourceEndpoint, destinationEndpoint, service, dnsName, trafficClass, costEgress, costIngress, costNat])
        {
            buffer.Clear();
        }
    }

    private static ReadOnlySpan<FlowRecord> Records(IReadOnlyList<FlowRecord> flows) => flows switch
    {
        FlowRecord[] array => array,
        ArraySegment<FlowRecord> segment => segment,
        List<FlowRecord> list => CollectionsMarshal.AsSpan(list),
        _ => flows.ToArray(),
    };

    private static ReadOnlySpan<EnrichedFlow> Enriched(IReadOnlyList<EnrichedFlow> flows) => flows switch
    {
        EnrichedFlow[] array => array,
        ArraySegment<EnrichedFlow> segment => segment,
        List<EnrichedFlow> list => CollectionsMarshal.AsSpan(list),
        _ => flows.ToArray(),
    };
}
