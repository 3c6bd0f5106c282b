namespace Egressd.Shared.Kubernetes;

/// <summary>What a watch event says. The first four are the API server's; the last two are its ERROR events.</summary>
public enum ResourceEventType
{
    Added,
    Modified,
    Deleted,
    Bookmark,

    /// <summary>410 Gone: the watch's resourceVersion is no longer in the API server's history; relist.</summary>
    Expired,

    /// <summary>Any other ERROR event, or a line that could not be read.</summary>
    Error,
}
