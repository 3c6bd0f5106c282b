using System.Collections.Concurrent;

namespace Egressd.Exporter.Sinks.Prometheus.Sharding;

/// <summary>The replicas heard from: a replica silent for longer than the takeover time is gone.</summary>
internal sealed class ShardMembership(string self, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> lastHeard = new(StringComparer.Ordinal);

    public string Self => self;

    public void Heard(string replica) => lastHeard[replica] = time.GetUtcNow();

    /// <summary>Live replicas, sorted by name, this one included; the names of those that went silent come out in <paramref name="gone"/>.</summary>
    public IReadOnlyList<string> Live(TimeSpan takeover, List<string> gone)
    {
        var now = time.GetUtcNow();
        var live = new List<string> { self };
        foreach (var (replica, heard) in lastHeard)
        {
            if (string.Equals(replica, self, StringComparison.Ordinal))
            {
                continue;
            }

            if (now - heard > takeover)
            {
                lastHeard.TryRemove(replica, out _);
                gone.Add(replica);
            }
            else
            {
                live.Add(replica);
            }
        }

        live.Sort(StringComparer.Ordinal);
        return live;
    }
}
