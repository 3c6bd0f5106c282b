using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Egressd.Enricher.Cluster;

/// <summary>Not ready until the cluster caches have synced once: enrichment would attribute nothing.</summary>
internal sealed class ClusterReadyHealthCheck(ClusterState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(state.IsSynced ? HealthCheckResult.Healthy("cluster caches synced") : HealthCheckResult.Unhealthy("cluster caches not synced yet"));
}
