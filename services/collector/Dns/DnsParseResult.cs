namespace Egressd.Collector.Dns;

/// <summary>What parsing one DNS message came to; everything but <see cref="Answered"/> and <see cref="NoAnswers"/> is counted as a failure.</summary>
internal enum DnsParseResult
{
    /// <summary>A response with at least one A, AAAA or CNAME record.</summary>
    Answered,

    /// <summary>A well-formed response with nothing to record (NXDOMAIN, MX, a query, ...).</summary>
    NoAnswers,

    /// <summary>The message ends before its header, a record or a name does.</summary>
    Truncated,

    /// <summary>A compression pointer that does not point backwards, or a name past 255 bytes.</summary>
    BadName,

    /// <summary>A record whose data length does not fit its type.</summary>
    BadRecord,
}
