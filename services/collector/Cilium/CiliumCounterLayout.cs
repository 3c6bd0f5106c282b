namespace Egressd.Collector.Cilium;

/// <summary>
/// How the counters of Cilium's <c>struct ct_entry</c> are laid out. Every release from 1.14 to
/// the newest keeps the value at 56 bytes, so the size cannot tell them apart.
/// </summary>
public enum CiliumCounterLayout
{
    /// <summary>Told apart by the entries themselves (see <see cref="CiliumConntrack"/>).</summary>
    Auto,

    /// <summary>Cilium 1.14 and 1.15: rx_packets, rx_bytes, tx_packets, tx_bytes.</summary>
    Split,

    /// <summary>Cilium 1.16 and later: one packets and one bytes counter for both directions.</summary>
    Combined,
}
