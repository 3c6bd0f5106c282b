namespace Egressd.Shared.Hosting;

/// <summary>
/// A metrics class the host creates as it is built (<see cref="ServiceDefaultsExtensions.MapEgressdEndpoints"/>),
/// rather than when something first counts: a series that must be seen at zero (a dashboard's
/// "no failures yet", an alert on a rate) is there from the first scrape.
/// </summary>
public abstract class MetricsDeclaration
{
    /// <summary>Resolving this creates the metrics class <typeparamref name="TMetrics"/>.</summary>
    internal sealed class Of<TMetrics>(TMetrics metrics) : MetricsDeclaration
        where TMetrics : class
    {
        public TMetrics Metrics { get; } = metrics;
    }
}
