namespace Egressd.Local.View;

/// <summary>One row of the view: who talks to whom, how, how fast.</summary>
public sealed record ViewFlow(string Source, string Destination, string TrafficClass, double BytesPerSecond);
