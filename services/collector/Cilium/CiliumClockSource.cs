namespace Egressd.Collector.Cilium;

/// <summary>The clock Cilium's datapath writes <c>ct_entry.lifetime</c> in (the agent's bpf-clock-probe choice).</summary>
public enum CiliumClockSource
{
    /// <summary>Whichever of the two puts the entry's expiry within a plausible range of now.</summary>
    Auto,

    /// <summary>Seconds of the kernel's monotonic clock (bpf_ktime_get_ns / 10⁹).</summary>
    Ktime,

    /// <summary>jiffies shifted right by 8 (BPF_MONO_SCALER), as Cilium does when the agent probes jiffies support.</summary>
    Jiffies,
}
