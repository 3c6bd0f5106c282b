namespace Egressd.Local.View;

/// <summary>How the terminal view shows the pipeline.</summary>
public enum ViewMode
{
    /// <summary>No view (run.sh --quiet, or output that is not a terminal).</summary>
    Off,

    /// <summary>One table redrawn in place, for a terminal.</summary>
    Live,

    /// <summary>A table per window, appended: for a log or a test (run.sh --view without a terminal).</summary>
    Lines,
}
