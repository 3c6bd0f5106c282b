namespace Egressd.Collector.Dns;

/// <summary>
/// The classic BPF program the kernel runs on every packet before the capture socket sees it:
/// IPv4 or IPv6, UDP or TCP, source port 53, first fragments only. Everything else never leaves
/// the kernel, so a busy node costs the collector only its DNS traffic. Offsets are from the
/// network header (a SOCK_DGRAM packet socket); IPv6 extension headers are not walked (DNS
/// responses carry none).
/// </summary>
internal static class DnsSocketFilter
{
    /// <summary>Bytes of each packet kept: a whole IPv6 jumbo-free packet, with room for GRO's merged segments.</summary>
    public const uint SnapLength = 262_144;

    // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; } (linux/filter.h)
    private const ushort LdH = 0x28;      // ld half [k]
    private const ushort LdB = 0x30;      // ld byte [k]
    private const ushort LdHInd = 0x48;   // ld half [x + k]
    private const ushort LdxMsh = 0xb1;   // ldx 4 * ([k] & 0xf)
    private const ushort JEq = 0x15;
    private const ushort JSet = 0x45;
    private const ushort Ret = 0x06;
    private const uint AncillaryProtocol = 0xFFFFF000; // SKF_AD_OFF + SKF_AD_PROTOCOL: the skb's ethertype

    public static readonly (ushort Code, byte JumpTrue, byte JumpFalse, uint K)[] Program =
    [
        /* 0 */ (LdH, 0, 0, AncillaryProtocol),
        /* 1 */ (JEq, 0, 8, 0x0800),     // IPv4, else 10
        /* 2 */ (LdB, 0, 0, 9),          // protocol
        /* 3 */ (JEq, 1, 0, 17),         // UDP → 5
        /* 4 */ (JEq, 0, 12, 6),         // TCP → 5, else drop
        /* 5 */ (LdH, 0, 0, 6),          // flags and fragment offset
        /* 6 */ (JSet, 10, 0, 0x1FFF),   // a later fragment: drop
        /* 7 */ (LdxMsh, 0, 0, 0),       // x = IPv4 header length
        /* 8 */ (LdHInd, 0, 0, 0),       // source port
        /* 9 */ (JEq, 6, 7, 53),         // accept : drop
        /* 10 */ (JEq, 0, 6, 0x86DD),    // IPv6, else drop
        /* 11 */ (LdB, 0, 0, 6),         // next header
        /* 12 */ (JEq, 1, 0, 17),        // UDP → 14
        /* 13 */ (JEq, 0, 3, 6),         // TCP → 14, else drop
        /* 14 */ (LdH, 0, 0, 40),        // source port
        /* 15 */ (JEq, 0, 1, 53),        // accept : drop
        /* 16 */ (Ret, 0, 0, SnapLength),
        /* 17 */ (Ret, 0, 0, 0),
    ];
}
