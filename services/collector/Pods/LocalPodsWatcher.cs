using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Egressd.Collector.Pods;

/// <summary>Runs the node's pod watch when the pod filter is Kubernetes.</summary>
internal sealed class LocalPodsWatcher(ILocalPods pods) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        pods is KubernetesLocalPods kubernetes ? kubernetes.RunAsync(stoppingToken) : Task.CompletedTask;
}

/// <summary>Not ready until the node's pods are known: flows read before would be dropped.</summary>
internal sealed class LocalPodsHealthCheck(ILocalPods pods) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(pods.IsReady ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("this node's pods are not known yet"));
}
