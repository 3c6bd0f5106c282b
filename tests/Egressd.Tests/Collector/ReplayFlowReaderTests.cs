using Egressd.Collector.Replay;

namespace Egressd.Tests.Collector;

public sealed class ReplayFlowReaderTests
{
    [Fact]
    public async Task Reads_flows_and_dns_answers_once_unless_looping()
    {
        var file = Write("""
            # comment
            {"proto":17,"src":"10.0.0.1","dst":"::ffff:10.0.0.2","tx_bytes":5,"rx_bytes":6,"tx_packets":1,"rx_packets":2}

            {"ip":"198.18.0.1","name":"example.org.","ttl_s":30}
            """);
        var once = new ReplayFlowReader(file, loop: false, TimeProvider.System);
        var first = await once.ReadAsync(CancellationToken.None);
        var flow = Assert.Single(first.Deltas);
        Assert.Equal(17, flow.Protocol);
        Assert.Equal("::ffff:10.0.0.2", flow.DestinationIp);
        Assert.Null(flow.OriginalDestinationIp);
        Assert.Equal("example.org", Assert.Single(first.DnsAnswers).Name);
        Assert.Empty((await once.ReadAsync(CancellationToken.None)).Deltas);

        var looping = new ReplayFlowReader(file, loop: true, TimeProvider.System);
        await looping.ReadAsync(CancellationToken.None);
        Assert.Single((await looping.ReadAsync(CancellationToken.None)).Deltas);
    }

    [Theory]
    [InlineData("""{"proto":6,"src":"not-an-ip","dst":"10.0.0.2"}""", "'src' must be an IP address")]
    [InlineData("""{"proto":300,"src":"10.0.0.1","dst":"10.0.0.2"}""", "'proto' must be a protocol number")]
    [InlineData("""{"proto":6,"src":"10.0.0.1",""", ":1:")]
    public async Task Bad_line_is_reported_with_file_and_line_number(string line, string expected)
    {
        var file = Write(line);
        var reader = new ReplayFlowReader(file, loop: false, TimeProvider.System);
        var error = await Assert.ThrowsAsync<FormatException>(async () => await reader.ReadAsync(CancellationToken.None));
        Assert.Contains(file + ":1:", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private static string Write(string content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"egressd-replay-{Guid.NewGuid():N}.jsonl");
        File.WriteAllText(path, content);
        return path;
    }
}
