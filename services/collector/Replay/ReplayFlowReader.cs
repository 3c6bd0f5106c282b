using System.Text.Json;
using System.Text.Json.Serialization;
using Egressd.Collector.Flows;
using Egressd.Contracts;

namespace Egressd.Collector.Replay;

/// <summary>
/// Replays a recorded JSON-lines file: one flow per line with the keys of <c>dump --reduced</c>
/// (<c>proto</c>, <c>src</c>, <c>dst</c>, optional <c>orig_dst</c>, <c>tx_bytes</c>, <c>rx_bytes</c>,
/// <c>tx_packets</c>, <c>rx_packets</c>), or a DNS answer (<c>ip</c>, <c>name</c>, <c>ttl_s</c>).
/// Blank lines and lines starting with <c>#</c> are skipped. Used for demos and tests.
/// </summary>
public sealed class ReplayFlowReader(string path, bool loop, TimeProvider time, PendingFlows pending) : IFlowReader
{
    private ReplayFile? file;
    private bool replayed;

    public FlowSource Source => FlowSource.Replay;

    public async ValueTask ReadAsync(CancellationToken cancellationToken)
    {
        if (replayed && !loop)
        {
            return;
        }

        if (file is null)
        {
            file = await ReplayFile.LoadAsync(path, cancellationToken);
            pending.EnsureCapacity(file.Flows);
        }

        replayed = true;
        foreach (var (key, counters) in file.Flows)
        {
            pending.Add(key, counters);
        }

        var now = time.GetUtcNow();
        foreach (var (ip, name, ttl) in file.Answers)
        {
            pending.AddDnsAnswer(ip, name, now.AddSeconds(ttl));
        }
    }

    /// <summary>The recording, its flows summed per key in a compact table (a line's flow and a later line's with the same key are one flow to a window anyway).</summary>
    private sealed record ReplayFile(FlowCounterDictionary Flows, IReadOnlyList<(IpAddr Ip, string Name, int TtlSeconds)> Answers)
    {
        public static async Task<ReplayFile> LoadAsync(string path, CancellationToken cancellationToken)
        {
            // Counted first, so the table is made once at its size rather than grown through copies.
            var lines = 0;
            await foreach (var _ in File.ReadLinesAsync(path, cancellationToken))
            {
                lines++;
            }

            var flows = new FlowCounterDictionary(lines);
            var answers = new List<(IpAddr, string, int)>();
            var number = 0;
            // Line by line: a recording of a few hundred thousand flows is never held as text whole.
            await foreach (var text in File.ReadLinesAsync(path, cancellationToken))
            {
                number++;
                var line = text.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                ReplayLine parsed;
                try
                {
                    parsed = JsonSerializer.Deserialize(line, ReplayJson.Default.ReplayLine)
                        ?? throw new FormatException("the line is null");
                    if (parsed.Name is not null)
                    {
                        answers.Add((Address(parsed.Ip, "ip"), parsed.Name.TrimEnd('.'), parsed.TtlSeconds ?? 0));
                    }
                    else
                    {
                        var (key, counters) = parsed.ToFlow();
                        ref var sum = ref flows.GetValueRefOrAddDefault(key, out _);
                        sum = sum.Add(counters);
                    }
                }
                catch (Exception ex) when (ex is JsonException or FormatException)
                {
                    throw new FormatException($"{path}:{number}: {ex.Message}", ex);
                }
            }

            flows.TrimExcess();
            return new ReplayFile(flows, answers);
        }
    }

    internal static IpAddr Address(string? text, string key) =>
        text is not null && IpAddr.TryParse(text, out var address)
            ? address
            : throw new FormatException($"'{key}' must be an IP address (got '{text}')");

    internal sealed class ReplayLine
    {
        [JsonPropertyName("proto")]
        public int? Protocol { get; set; }

        [JsonPropertyName("src")]
        public string? Source { get; set; }

        [JsonPropertyName("dst")]
        public string? Destination { get; set; }

        [JsonPropertyName("orig_dst")]
        public string? OriginalDestination { get; set; }

        [JsonPropertyName("tx_bytes")]
        public ulong TxBytes { get; set; }

        [JsonPropertyName("rx_bytes")]
        public ulong RxBytes { get; set; }

        [JsonPropertyName("tx_packets")]
        public ulong TxPackets { get; set; }

        [JsonPropertyName("rx_packets")]
        public ulong RxPackets { get; set; }

        [JsonPropertyName("ip")]
        public string? Ip { get; set; }

        [JsonPropertyName("name")]
        public string? Name { get; set; }

        [JsonPropertyName("ttl_s")]
        public int? TtlSeconds { get; set; }

        public (FlowKey, FlowCounters) ToFlow() => (
            new FlowKey(
                Address(Source, "src"),
                Address(Destination, "dst"),
                OriginalDestination is null ? IpAddr.None : Address(OriginalDestination, "orig_dst"),
                Protocol is >= 0 and <= 255 ? (byte)Protocol.Value : throw new FormatException($"'proto' must be a protocol number 0-255 (got {Protocol?.ToString() ?? "nothing"})")),
            new FlowCounters(TxBytes, RxBytes, TxPackets, RxPackets));
    }
}
