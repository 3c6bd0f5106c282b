namespace Egressd.Exporter.Sinks.Http;

/// <summary>What a request body holds.</summary>
public enum HttpSinkEncoding
{
    /// <summary>egressd's <c>PodNetworkMetricBatch</c>, <c>application/protobuf</c>.</summary>
    Protobuf,

    /// <summary>One JSON object per flow and line (the flow log's lines), <c>application/x-ndjson</c>.</summary>
    Ndjson,

    /// <summary>One JSON document per request, <c>{"flows":[...]}</c>, <c>application/json</c>.</summary>
    Json,
}
