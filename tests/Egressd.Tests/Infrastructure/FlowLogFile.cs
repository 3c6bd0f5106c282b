using System.Text.Json;
using Egressd.Contracts;
using Egressd.Exporter.Sinks;
using Egressd.Tests.Collector;

namespace Egressd.Tests.Infrastructure;

/// <summary>Reads what the exporter's flow-log sink wrote.</summary>
internal static class FlowLogFile
{
    public static IReadOnlyList<FlowLogLine> Read(string path, string node)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var lines = new List<FlowLogLine>();
        while (reader.ReadLine() is { } text)
        {
            // A line still being written has no newline yet and may not parse; the next poll sees it whole.
            if (text.Length == 0 || !text.EndsWith('}'))
            {
                continue;
            }

            var line = JsonSerializer.Deserialize(text, FlowLogJson.Default.FlowLogLine)!;
            if (line.Node == node)
            {
                lines.Add(line);
            }
        }

        return lines;
    }

    /// <summary>The sample fixture as the collector reads it.</summary>
    public static async Task<FlowReadingFixture> SampleAsync()
    {
        var window = await ReplayFlowReaderTests.ReadOnceAsync(Repo.SampleFlows);
        return new FlowReadingFixture(window.Flows, window.DnsAnswers);
    }

    /// <summary>Asserts the flow log holds every fixture flow exactly once, every field intact.</summary>
    public static void AssertDeliveredOnce(IReadOnlyList<FlowLogLine> lines, FlowReadingFixture fixture, string node)
    {
        Assert.Equal(fixture.Flows.Count, lines.Count);
        var expected = fixture.Flows.OrderBy(Key).ToList();
        var actual = lines.Select(l => l.Flow.Flow).OrderBy(Key).ToList();
        Assert.Equal(expected, actual);
        foreach (var line in lines)
        {
            Assert.Equal(node, line.Node);
            Assert.Equal(node, line.Batch.Node);
            Assert.Equal(FlowSource.Replay, line.SourceKind);
            Assert.True(line.WindowStart <= line.WindowEnd);
            Assert.Equal(line.Batch.ToString(), line.BatchId);
            var dns = fixture.Answers.FirstOrDefault(a => a.Ip == line.Flow.Flow.DestinationIp);
            Assert.Equal(dns?.Name, line.Flow.DestinationDnsName);
        }
    }

    private static string Key(FlowRecord flow) => $"{flow.SourceIp}|{flow.DestinationIp}|{flow.Protocol}";
}

internal sealed record FlowReadingFixture(IReadOnlyList<FlowRecord> Flows, IReadOnlyList<DnsAnswer> Answers);
