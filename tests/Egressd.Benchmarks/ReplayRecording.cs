using System.Globalization;
using System.Text;

namespace Egressd.Benchmarks;

/// <summary>
/// A replay recording (one flow per line) of distinct flows from pods to pods, through services and
/// to public addresses, the same for every benchmark that replays it (a fixed seed).
/// </summary>
internal static class ReplayRecording
{
    public static void Write(string path, int flows, int pods)
    {
        var random = new Random(42);
        var seen = new HashSet<(int, string)>();
        var text = new StringBuilder();
        while (seen.Count < flows)
        {
            var source = random.Next(pods);
            var kind = random.Next(10);
            var (destination, original) = kind switch
            {
                < 6 => (PodIp(random.Next(pods)), (string?)null),
                < 8 => (PodIp(random.Next(pods)), $"10.96.{random.Next(200) / 250}.{random.Next(200) % 250}"),
                _ => ($"198.18.{random.Next(256)}.{random.Next(256)}", null),
            };
            if (!seen.Add((source, destination + original)))
            {
                continue;
            }

            text.Append(CultureInfo.InvariantCulture, $"{{\"proto\":{(kind == 9 ? 17 : 6)},\"src\":\"{PodIp(source)}\",\"dst\":\"{destination}\"")
                .Append(original is null ? "" : $",\"orig_dst\":\"{original}\"")
                .Append(CultureInfo.InvariantCulture, $",\"tx_bytes\":{random.Next(100, 200_000)},\"rx_bytes\":{random.Next(100, 2_000_000)},\"tx_packets\":{random.Next(1, 200)},\"rx_packets\":{random.Next(1, 2000)}}}\n");
        }

        File.WriteAllText(path, text.ToString());
    }

    /// <summary>Pod <paramref name="i"/>'s address.</summary>
    public static string PodIp(int i) => $"10.{100 + (i / 65536)}.{(i / 256) % 256}.{i % 256}";
}
