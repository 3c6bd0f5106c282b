using Egressd.Shared.Inventory;
using Egressd.Shared.Kubernetes;
using Egressd.Shared.Network;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Cluster;

public static class ClusterContextHostingExtensions
{
    /// <summary>
    /// What a service needs to know about the cluster: the network ranges, the Kubernetes and
    /// inventory settings, and the resolved <see cref="ClusterContext"/>. Safe to call from every
    /// service in one process.
    /// </summary>
    public static IServiceCollection AddEgressdClusterContext(this IServiceCollection services)
    {
        services.AddEgressdNetwork();
        services.AddEgressdKubernetes();
        services.TryAddSingleton(TimeProvider.System);
        if (services.Any(d => d.ServiceType == typeof(ClusterContext)))
        {
            return services;
        }

        services.AddOptions<InventoryOptions>().BindConfiguration(InventoryOptions.Section);
        services.AddOptions<ClusterContextOptions>().BindConfiguration(ClusterContextOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ClusterContextOptions>, ClusterContextOptionsValidator>();
        services.AddSingleton(sp => ClusterContext.Resolve(
            sp.GetRequiredService<IOptions<ClusterContextOptions>>().Value,
            sp.GetRequiredService<IOptions<KubernetesOptions>>().Value,
            sp.GetRequiredService<IOptions<InventoryOptions>>().Value));
        return services;
    }
}
