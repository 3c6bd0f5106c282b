namespace Egressd.Tests.Infrastructure;

/// <summary>One sample of a series, from an exposition or a Prometheus query: its labels and value.</summary>
internal sealed record PromSample(IReadOnlyDictionary<string, string> Labels, double Value);
