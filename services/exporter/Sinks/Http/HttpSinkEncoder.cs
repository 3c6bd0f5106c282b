using System.Buffers;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text.Json;
using Egressd.Contracts;
using Egressd.Exporter.Sinks.FlowLog;
using Egressd.Exporter.Sinks.Http.Protobuf;
using Egressd.Shared.Network;
using Google.Protobuf;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>Turns the slices of one request into its body, in the sink's encoding, gzipped when asked.</summary>
internal sealed class HttpSinkEncoder(HttpSinkEncoding encoding, bool gzip, PublicAddresses publicAddresses)
{
    private static readonly JsonEncodedText FlowsKey = JsonEncodedText.Encode("flows");

    public MediaTypeHeaderValue ContentType { get; } = new(encoding switch
    {
        HttpSinkEncoding.Protobuf => "application/protobuf",
        HttpSinkEncoding.Ndjson => "application/x-ndjson",
        _ => "application/json",
    });

    public bool Gzip => gzip;

    /// <summary>The body; <paramref name="flows"/> is how many flows it carries, <paramref name="dropped"/> how many egressd's schema could not (source not a pod).</summary>
    public ArraySegment<byte> Encode(IReadOnlyList<BatchSlice> slices, out int flows, out int dropped)
    {
        var raw = new ArrayBufferWriter<byte>(64 * 1024);
        flows = dropped = 0;
        switch (encoding)
        {
            case HttpSinkEncoding.Protobuf:
                var batch = Protobuf(slices, out dropped);
                flows = batch.Items.Count;
                batch.WriteTo(raw);
                break;
            case HttpSinkEncoding.Ndjson:
                foreach (var slice in slices)
                {
                    FlowLogLines.Write(raw, slice.Batch, slice.Start, slice.Count);
                    flows += slice.Count;
                }

                break;
            default:
                using (var json = new Utf8JsonWriter(raw, FlowLogLines.Options))
                {
                    json.WriteStartObject();
                    json.WriteStartArray(FlowsKey);
                    foreach (var slice in slices)
                    {
                        FlowLogLines.WriteObjects(json, slice.Batch, slice.Start, slice.Count);
                        flows += slice.Count;
                    }

                    json.WriteEndArray();
                    json.WriteEndObject();
                }

                break;
        }

        if (!gzip)
        {
            return raw.WrittenMemory.ToArray();
        }

        // Fastest: a webhook body is compressed once per request on the exporter's CPU, and the
        // ratio between levels is small on these repetitive bodies.
        var compressed = new MemoryStream(raw.WrittenCount / 4 + 64);
        using (var zip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(raw.WrittenSpan);
        }

        return new ArraySegment<byte>(compressed.GetBuffer(), 0, (int)compressed.Length);
    }

    /// <summary>
    /// egressd's batch: destination pod, namespace, node and zone only for private destinations,
    /// the DNS name only for public ones; flows whose source is not a pod are left out (egressd
    /// reports only pods' traffic).
    /// </summary>
    internal PodNetworkMetricBatch Protobuf(IReadOnlyList<BatchSlice> slices, out int dropped)
    {
        var batch = new PodNetworkMetricBatch();
        dropped = 0;
        foreach (var slice in slices)
        {
            var flows = slice.Batch.Flows;
            var endpoints = slice.Batch.Endpoints;
            for (var i = slice.Start; i < slice.Start + slice.Count; i++)
            {
                var enriched = flows[i];
                var source = endpoints[enriched.SourceEndpoint];
                if (source.Pod is null)
                {
                    dropped++;
                    continue;
                }

                var metric = Metric(enriched, source, endpoints[enriched.DestinationEndpoint]);
                metric.CombinedCounters = slice.Batch.Header.CounterDirections == FlowCounterDirections.Combined;
                batch.Items.Add(metric);
            }
        }

        return batch;
    }

    private PodNetworkMetric Metric(EnrichedFlow enriched, FlowEndpoint src, FlowEndpoint dst)
    {
        var flow = enriched.Flow;
        var metric = new PodNetworkMetric
        {
            SrcIp = flow.SourceIp.ToString(),
            SrcPod = src.Pod ?? "",
            SrcNamespace = src.Namespace ?? "",
            SrcNode = src.Node ?? "",
            SrcZone = src.Zone ?? "",
            DstIp = flow.DestinationIp.ToString(),
            TxBytes = Signed(flow.TxBytes),
            TxPackets = Signed(flow.TxPackets),
            RxBytes = Signed(flow.RxBytes),
            RxPackets = Signed(flow.RxPackets),
            Proto = flow.Protocol,
            CostEgressPicodollars = (ulong)Math.Max(0, enriched.Cost.Egress),
            CostIngressPicodollars = (ulong)Math.Max(0, enriched.Cost.Ingress),
            CostNatPicodollars = (ulong)Math.Max(0, enriched.Cost.Nat),
        };
        if (publicAddresses.ContainsDestination(enriched))
        {
            metric.DstDnsName = enriched.DestinationDnsName ?? "";
        }
        else
        {
            metric.DstPod = dst.Pod ?? "";
            metric.DstNamespace = dst.Namespace ?? "";
            metric.DstNode = dst.Node ?? "";
            metric.DstZone = dst.Zone ?? "";
        }

        return metric;
    }

    private static long Signed(ulong value) => value > long.MaxValue ? long.MaxValue : (long)value;
}
