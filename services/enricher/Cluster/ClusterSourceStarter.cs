using Egressd.Shared.Cluster;

namespace Egressd.Enricher.Cluster;

/// <summary>Loads the inventory, or names the Kubernetes resources the state must sync, before consumers start.</summary>
internal sealed partial class ClusterSourceStarter(
    ClusterState state,
    ClusterContext context,
    ILogger<ClusterSourceStarter> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        switch (context.Source)
        {
            case ClusterContextSource.Kubernetes:
                state.Require(KubernetesClusterSource.Resources);
                LogSource(logger, context.Description);
                break;
            case ClusterContextSource.Inventory:
                InventoryClusterSource.Load(state, context.InventoryFile!);
                LogSource(logger, context.Description);
                break;
            default:
                state.Require("none");
                state.MarkSynced("none");
                LogNoSource(logger);
                break;
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 1121, Level = LogLevel.Warning,
        Message = "Enricher has no cluster context (not in a pod, no Egressd:Kubernetes:Kubeconfig, no Egressd:Inventory:File): flows keep their addresses and DNS names only")]
    private static partial void LogNoSource(ILogger logger);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1120, Level = LogLevel.Information, Message = "Enricher takes cluster context from {Source}")]
    private static partial void LogSource(ILogger logger, string source);
}
