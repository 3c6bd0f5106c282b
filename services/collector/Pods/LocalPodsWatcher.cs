namespace Egressd.Collector.Pods;

/// <summary>Keeps the node's pod set current for as long as the collector runs.</summary>
internal sealed class LocalPodsWatcher(ILocalPods pods) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => pods.RunAsync(stoppingToken);
}
