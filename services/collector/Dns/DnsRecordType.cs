namespace Egressd.Collector.Dns;

/// <summary>The record types the collector reads from an answer section (RFC 1035, RFC 3596).</summary>
internal static class DnsRecordType
{
    public const ushort A = 1;
    public const ushort Cname = 5;
    public const ushort Aaaa = 28;
}
