namespace Egressd.Local.View;

/// <summary>One row of the view: who talks to whom, how, how fast, and what that costs per hour at list prices (docs/COST.md).</summary>
public sealed record ViewFlow(string Source, string Destination, string TrafficClass, double BytesPerSecond, decimal DollarsPerHour = 0);
