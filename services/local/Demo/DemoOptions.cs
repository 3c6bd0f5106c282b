namespace Egressd.Local.Demo;

/// <summary>Settings under <c>Egressd:Demo</c>: the traffic of <c>run.sh --demo</c>'s mini-cluster.</summary>
public sealed class DemoOptions
{
    public const string Section = "Egressd:Demo";

    /// <summary>The plan demo-cluster.sh writes (which pod talks to what); empty: no demo traffic.</summary>
    public string? PlanFile { get; set; }

    /// <summary>How often each flow of the plan opens a connection.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);
}
