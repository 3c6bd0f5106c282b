using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;

namespace Egressd.Collector.Cilium;

/// <summary>
/// Turns <c>ct_entry.lifetime</c> (when the entry expires, in the datapath's clock) into seconds
/// from now, which wall time plus those seconds makes an expiry time. Cilium writes it either as
/// seconds of the monotonic clock (ktime) or as jiffies &gt;&gt; 8 (bpf/lib/mono.h, BPF_MONO_SCALER),
/// truncated to 32 bits. egressd subtracts unscaled jiffies from the scaled value; we scale first.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class CiliumClock
{
    // A lifetime further from now than this in a clock is not in that clock (Cilium's longest
    // default timeout is 6 hours; operators can raise it, hence days).
    private const long PlausiblePast = -86_400;
    private const long PlausibleFuture = 7 * 86_400;

    private static readonly int[] HzValues = [1000, 300, 250, 100];

    private readonly CiliumClockSource source;
    private readonly long jiffiesAtStart;
    private readonly long monoTicksAtStart;
    private long ktimeNow;
    private uint jiffiesScaledNow;

    public CiliumClock(CiliumClockSource source)
    {
        this.source = source;
        if (source != CiliumClockSource.Ktime && ReadJiffies() is { } jiffies)
        {
            jiffiesAtStart = jiffies;
            monoTicksAtStart = Stopwatch.GetTimestamp();
            Hz = MeasureHz(jiffies, monoTicksAtStart);
        }
        else if (source == CiliumClockSource.Jiffies)
        {
            throw new IOException("Cilium's clock is set to Jiffies, but neither /proc/schedstat nor /proc/timer_list gives the kernel's jiffies (timer_list needs root)");
        }

        Refresh();
    }

    /// <summary>The kernel's CONFIG_HZ as measured, or 0 when jiffies are not read.</summary>
    public int Hz { get; }

    /// <summary>Reads now in both clocks; once per read of the maps, not per entry.</summary>
    public void Refresh()
    {
        var mono = Stopwatch.GetTimestamp();
        ktimeNow = mono / Stopwatch.Frequency;
        if (Hz > 0)
        {
            var jiffies = jiffiesAtStart + (long)((double)(mono - monoTicksAtStart) / Stopwatch.Frequency * Hz);
            jiffiesScaledNow = (uint)(jiffies >> 8);
        }
    }

    /// <summary>Seconds until the entry expires (negative: already expired, waiting for Cilium's GC).</summary>
    public long SecondsLeft(uint lifetime)
    {
        switch (source)
        {
            case CiliumClockSource.Ktime:
                return FromKtime(lifetime);
            case CiliumClockSource.Jiffies:
                return FromJiffies(lifetime);
            default:
                var k = FromKtime(lifetime);
                if (k is >= PlausiblePast and <= PlausibleFuture || Hz == 0)
                {
                    return k;
                }

                var j = FromJiffies(lifetime);
                return j is >= PlausiblePast and <= PlausibleFuture ? j : k;
        }
    }

    /// <summary>A lifetime that expires <paramref name="seconds"/> from now in the given clock (tests build entries with it).</summary>
    public uint LifetimeIn(long seconds, CiliumClockSource clock) => clock == CiliumClockSource.Jiffies
        ? jiffiesScaledNow + (uint)(seconds * Hz / 256)
        : (uint)(ktimeNow + seconds);

    private long FromKtime(uint lifetime) => (long)lifetime - (ktimeNow & 0xFFFF_FFFF);

    private long FromJiffies(uint lifetime) => Hz == 0 ? 0 : (long)(int)(lifetime - jiffiesScaledNow) * 256 / Hz;

    /// <summary>
    /// CONFIG_HZ from jiffies' start value: the kernel starts them at 2³² − 300·HZ so they wrap
    /// early, then adds HZ a second. After ten minutes up that pins HZ without waiting; before, two
    /// readings a moment apart do (what Cilium's agent does).
    /// </summary>
    private static int MeasureHz(long jiffies, long mono)
    {
        var uptime = (double)mono / Stopwatch.Frequency;
        double hz;
        if (uptime > 600)
        {
            hz = (jiffies - (1L << 32)) / (uptime - 300);
        }
        else
        {
            Thread.Sleep(200);
            var later = ReadJiffies() ?? jiffies;
            hz = (later - jiffies) / ((double)(Stopwatch.GetTimestamp() - mono) / Stopwatch.Frequency);
        }

        return HzValues.MinBy(v => Math.Abs(v - hz));
    }

    private static long? ReadJiffies()
    {
        foreach (var (path, prefix) in new[] { ("/proc/schedstat", "timestamp "), ("/proc/timer_list", "jiffies: ") })
        {
            try
            {
                foreach (var line in File.ReadLines(path))
                {
                    if (line.StartsWith(prefix, StringComparison.Ordinal)
                        && long.TryParse(line.AsSpan(prefix.Length).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                    {
                        return value;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }

        return null;
    }
}
