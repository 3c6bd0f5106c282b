namespace Egressd.Local.View;

/// <summary>Settings under <c>Egressd:View</c>: the live terminal view of the local runner.</summary>
public sealed class ViewOptions
{
    public const string Section = "Egressd:View";

    public ViewMode Mode { get; set; } = ViewMode.Off;

    /// <summary>
    /// Where the view is written: run.sh gives the terminal as descriptor 3 (<c>/dev/fd/3</c>),
    /// since standard output carries the JSON logs to the log file. Empty: standard output.
    /// </summary>
    public string? Output { get; set; }

    /// <summary>Flows shown per window, the largest first.</summary>
    public int TopFlows { get; set; } = 10;
}
