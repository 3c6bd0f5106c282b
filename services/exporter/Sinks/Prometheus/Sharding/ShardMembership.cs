using System.Collections.Concurrent;

namespace Egressd.Exporter.Sinks.Prometheus.Sharding;

/// <summary>
/// The replicas heard from: a replica silent for longer than the takeover time is gone, but only
/// while the broker carries this replica's own heartbeats back to it. When the broker is away,
/// every replica is silent and none is gone: the split stays as it was. Moving shards then would
/// send batches counted but not yet acknowledged before the outage to a replica whose counters
/// never saw them, which counts them twice. Once its own heartbeats come back, every other replica
/// gets <see cref="ReconnectAllowance"/> (or the takeover time, if longer) to be heard again: each
/// reconnects on its own schedule, seconds to tens of seconds after the broker is back.
/// </summary>
internal sealed class ShardMembership(string self, TimeSpan takeover, TimeProvider time)
{
    /// <summary>How long the others have to come back after a broker outage (MassTransit's reconnects back off up to about 30 s).</summary>
    public static readonly TimeSpan ReconnectAllowance = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, DateTimeOffset> lastHeard = new(StringComparer.Ordinal);
    private readonly TimeSpan afterOutage = takeover > ReconnectAllowance ? takeover : ReconnectAllowance;

    // Two heartbeat intervals (a quarter of the takeover time each) without its own heartbeat.
    private readonly TimeSpan lapse = takeover / 2;
    private readonly Lock gate = new();
    private DateTimeOffset? ownHeard;

    // When this replica's heartbeats came back after a lapse; null before its first one (at start
    // it has no split to keep, and no one has counted anything of its own yet).
    private DateTimeOffset? backSince;

    public string Self => self;

    public void Heard(string replica)
    {
        var now = time.GetUtcNow();
        if (!string.Equals(replica, self, StringComparison.Ordinal))
        {
            lastHeard[replica] = now;
            return;
        }

        lock (gate)
        {
            if (ownHeard is { } heard && now - heard > lapse)
            {
                backSince = now;
            }

            ownHeard = now;
        }
    }

    /// <summary>
    /// Live replicas, sorted by name, this one included; the names of those that went silent come
    /// out in <paramref name="gone"/>. While this replica does not hear itself, no one goes.
    /// </summary>
    public IReadOnlyList<string> Live(List<string> gone)
    {
        var now = time.GetUtcNow();
        bool reachable;
        DateTimeOffset? back;
        lock (gate)
        {
            reachable = ownHeard is { } heard && now - heard <= lapse;
            back = backSince;
        }

        var live = new List<string> { self };
        foreach (var (replica, heard) in lastHeard)
        {
            var silent = now - heard > takeover && (back is not { } since || now - since > afterOutage);
            if (reachable && silent)
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
