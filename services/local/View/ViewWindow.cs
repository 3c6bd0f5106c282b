namespace Egressd.Local.View;

/// <summary>What the view shows of one window: its flows by rate, and each class's total rate and cost per hour.</summary>
public sealed record ViewWindow(
    DateTimeOffset Start,
    DateTimeOffset End,
    string Node,
    IReadOnlyList<ViewFlow> Flows,
    IReadOnlyList<(string TrafficClass, double BytesPerSecond, decimal DollarsPerHour)> Classes,
    int Sequence);
