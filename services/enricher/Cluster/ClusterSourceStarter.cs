using Egressd.Shared.Inventory;
using Egressd.Shared.Kubernetes;
using Microsoft.Extensions.Options;

namespace Egressd.Enricher.Cluster;

/// <summary>Loads the inventory, or names the Kubernetes resources the state must sync, before consumers start.</summary>
internal sealed partial class ClusterSourceStarter(
    ClusterState state,
    IOptions<EnricherOptions> options,
    IOptions<KubernetesOptions> kubernetes,
    IOptions<InventoryOptions> inventory,
    ILogger<ClusterSourceStarter> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        switch (EnricherHostingExtensions.ResolveSource(options.Value, kubernetes.Value, inventory.Value))
        {
            case EnricherSources.Kubernetes:
                state.Require(KubernetesClusterSource.Resources);
                LogSource(logger, "the Kubernetes API");
                break;
            case EnricherSources.Inventory:
                InventoryClusterSource.Load(state, inventory.Value.File!);
                var source = "the inventory file " + inventory.Value.File;
                LogSource(logger, source);
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
