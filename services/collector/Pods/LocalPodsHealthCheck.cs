using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Egressd.Collector.Pods;

/// <summary>Not ready until the node's pods are known: flows read before would be dropped.</summary>
internal sealed class LocalPodsHealthCheck(ILocalPods pods) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(pods.IsReady ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("this node's pods are not known yet"));
}
