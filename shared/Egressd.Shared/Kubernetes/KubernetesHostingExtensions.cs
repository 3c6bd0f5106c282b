using Egressd.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Kubernetes;

public static class KubernetesHostingExtensions
{
    /// <summary>Binds and validates <c>Egressd:Kubernetes</c>; safe to call from every service in one process.</summary>
    public static IServiceCollection AddEgressdKubernetes(this IServiceCollection services)
    {
        services.AddOptions<KubernetesOptions>().BindConfiguration(KubernetesOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesOptions>, KubernetesOptionsValidator>());
        // Not declared: its families appear with the first reflector, so a service without
        // Kubernetes (an inventory, no cluster) shows none of them.
        services.AddEgressdMetricsRegistry();
        services.TryAddSingleton<KubernetesMetrics>();
        return services;
    }
}
