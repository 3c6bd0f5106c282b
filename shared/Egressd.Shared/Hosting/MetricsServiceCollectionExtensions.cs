using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Prometheus;

namespace Egressd.Shared.Hosting;

/// <summary>
/// Every host (a service, the local runner, a test's host) has its own registry, so a test reads
/// the counters of the host it started and no other's. A metrics class (one per concept, e.g.
/// <c>CollectorMetrics</c>) takes the host's <see cref="IMetricFactory"/> in its constructor and is
/// injected where it is counted.
/// </summary>
public static class MetricsServiceCollectionExtensions
{
    /// <summary>The host's registry and the factory its metrics classes create their metrics with.</summary>
    public static IServiceCollection AddEgressdMetricsRegistry(this IServiceCollection services)
    {
        services.TryAddSingleton(_ => Metrics.NewCustomRegistry());
        services.TryAddSingleton<IMetricFactory>(sp => Metrics.WithCustomRegistry(sp.GetRequiredService<CollectorRegistry>()));
        return services;
    }

    /// <summary>
    /// Registers a metrics class, created when the host is built (<see cref="MetricsDeclaration"/>):
    /// its families, and the series its constructor declares, are on <c>/metrics</c> at zero from
    /// the first scrape, before anything was counted.
    /// </summary>
    public static IServiceCollection AddMetrics<TMetrics>(this IServiceCollection services)
        where TMetrics : class
    {
        services.AddEgressdMetricsRegistry();
        services.TryAddSingleton<TMetrics>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<MetricsDeclaration, MetricsDeclaration.Of<TMetrics>>());
        return services;
    }
}
