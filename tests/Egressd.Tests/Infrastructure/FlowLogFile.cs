using System.Text.Json;
using Egressd.Collector.Flows;
using Egressd.Collector.Replay;
using Egressd.Contracts;

namespace Egressd.Tests.Infrastructure;

/// <summary>Reads what the exporter's flow-log sink wrote.</summary>
internal static class FlowLogFile
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The lines of <paramref name="node"/>; a last line still being written (no newline yet) is left for the next poll.</summary>
    public static IReadOnlyList<FlowLogEntry> Read(string path, string node) =>
        ReadAll(path).Where(l => l.Node == node).ToList();

    /// <summary>Every whole line of the file, in order.</summary>
    public static IReadOnlyList<FlowLogEntry> ReadAll(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        var bytes = ReadShared(path);
        var lines = new List<FlowLogEntry>();
        var start = 0;
        while (start < bytes.Length)
        {
            var newline = Array.IndexOf(bytes, (byte)'\n', start);
            if (newline < 0)
            {
                break;
            }

            lines.Add(Parse(bytes.AsSpan(start, newline - start)));
            start = newline + 1;
        }

        return lines;
    }

    public static FlowLogEntry Parse(ReadOnlySpan<byte> line) => JsonSerializer.Deserialize<FlowLogEntry>(line, Json)!;

    public static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>The sample fixture as the collector reads it.</summary>
    public static async Task<FlowReadingFixture> SampleAsync()
    {
        // Read once, as the one window the collector would publish.
        var pending = new PendingFlows();
        await new ReplayFlowReader(Repo.SampleFlows, loop: false, TimeProvider.System, pending).ReadAsync(CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var window = pending.Freeze("node", "boot", 1, FlowSource.Replay, now, now, int.MaxValue)[0];
        return new FlowReadingFixture(window.Flows, window.DnsAnswers);
    }

    /// <summary>Asserts the flow log holds every fixture flow exactly once, every field intact.</summary>
    public static void AssertDeliveredOnce(IReadOnlyList<FlowLogEntry> lines, FlowReadingFixture fixture, string node)
    {
        Assert.Equal(fixture.Flows.Count, lines.Count);
        var expected = fixture.Flows.OrderBy(Key).ToList();
        var actual = lines.Select(l => l.Flow).OrderBy(Key).ToList();
        Assert.Equal(expected, actual);
        foreach (var line in lines)
        {
            Assert.Equal(node, line.Node);
            Assert.StartsWith(node + "/", line.BatchId, StringComparison.Ordinal);
            Assert.Equal(FlowSource.Replay, line.SourceKind);
            Assert.True(line.WindowStart <= line.WindowEnd);
            Assert.InRange(line.BatchLine, 1, line.BatchLines);
            var dns = fixture.Answers.FirstOrDefault(a => a.Ip.ToString() == line.DstIp);
            Assert.Equal(dns?.Name, line.DstDnsName);
        }
    }

    private static string Key(FlowRecord flow) => $"{flow.SourceIp}|{flow.DestinationIp}|{flow.Protocol}";
}
