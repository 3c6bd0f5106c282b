using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Egressd.Contracts;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks;

/// <summary>
/// One JSON line per flow, to a file or standard output: the simplest way to see what egressd
/// sees, and what the local runner shows.
/// </summary>
public sealed class FlowLogSink : IFlowSink, IDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly TextWriter writer;
    private readonly bool ownsWriter;

    public FlowLogSink(IOptions<ExporterOptions> options)
    {
        var path = options.Value.FlowLog.Path;
        if (path == "-")
        {
            writer = Console.Out;
        }
        else
        {
            var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            writer = new StreamWriter(stream, new UTF8Encoding(false));
            ownsWriter = true;
        }
    }

    public static string Name => "flow-log";

    public async Task WriteAsync(FlowBatchEnriched batch, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var batchId = batch.Id.ToString();
        foreach (var flow in batch.Flows)
        {
            var line = new FlowLogLine
            {
                BatchId = batchId,
                Batch = batch.Id,
                Node = batch.Node,
                WindowStart = batch.WindowStart,
                WindowEnd = batch.WindowEnd,
                SourceKind = batch.Source,
                Flow = flow,
            };
            text.Append(JsonSerializer.Serialize(line, FlowLogJson.Default.FlowLogLine)).Append('\n');
        }

        await gate.WaitAsync(cancellationToken);
        try
        {
            await writer.WriteAsync(text, cancellationToken);
            await writer.FlushAsync(cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    public void Dispose()
    {
        if (ownsWriter)
        {
            writer.Dispose();
        }

        gate.Dispose();
    }
}

/// <summary>The shape of one flow-log line.</summary>
public sealed record FlowLogLine
{
    /// <summary>The batch id as text, for grepping.</summary>
    public required string BatchId { get; init; }

    public required BatchId Batch { get; init; }

    public required string Node { get; init; }

    public required DateTimeOffset WindowStart { get; init; }

    public required DateTimeOffset WindowEnd { get; init; }

    public required FlowSource SourceKind { get; init; }

    public required EnrichedFlow Flow { get; init; }
}

[JsonSerializable(typeof(FlowLogLine))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class FlowLogJson : JsonSerializerContext;
