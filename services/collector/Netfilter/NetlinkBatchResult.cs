namespace Egressd.Collector.Netfilter;

/// <summary>What the end of one received buffer says about the dump it belongs to.</summary>
internal enum NetlinkBatchResult
{
    /// <summary>More messages follow in the next receive.</summary>
    More,

    /// <summary>NLMSG_DONE: the dump is complete.</summary>
    Done,

    /// <summary>NLMSG_ERROR with a non-zero code (see the out parameter).</summary>
    Error,
}
