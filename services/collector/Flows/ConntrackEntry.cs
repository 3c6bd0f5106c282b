namespace Egressd.Collector.Flows;

/// <summary>One conntrack entry: the original and reply tuples with their counters.</summary>
internal record struct ConntrackEntry
{
    /// <summary>As the connection's initiator sent it (destination before DNAT).</summary>
    public ConntrackTuple Original;

    /// <summary>As the answer comes back (its source is the real peer after DNAT).</summary>
    public ConntrackTuple Reply;

    public ConntrackCounters OriginalCounters;
    public ConntrackCounters ReplyCounters;

    /// <summary>True when the kernel sent counters (accounting is on).</summary>
    public bool HasCounters;

    /// <summary>The kernel's id of the entry, stable for its lifetime.</summary>
    public uint Id;

    public uint Status;

    /// <summary>Seconds until the entry expires, as the kernel reported it.</summary>
    public uint TimeoutSeconds;

    /// <summary>The conntrack zone (0 unless zones are in use).</summary>
    public ushort Zone;

    /// <summary>
    /// When the kernel confirmed the entry, in wall-clock (CLOCK_REALTIME) nanoseconds since the
    /// Unix epoch; 0 when unknown (nf_conntrack_timestamp was off when the entry was made, or the
    /// source keeps no start time). Tells successive connections on one reused tuple apart.
    /// </summary>
    public ulong StartNanos;

    /// <summary>When the entry ended (destroy events only, with timestamps on); 0 when unknown.</summary>
    public ulong StopNanos;

    /// <summary>True when this came from a destroy event: the counters are final.</summary>
    public bool Destroyed;
}
