using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Network;

public static class NetworkHostingExtensions
{
    /// <summary>Binds and validates <c>Egressd:Network</c>; safe to call from every service in one process.</summary>
    public static IServiceCollection AddEgressdNetwork(this IServiceCollection services)
    {
        services.AddOptions<NetworkOptions>().BindConfiguration(NetworkOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NetworkOptions>, NetworkOptionsValidator>());
        return services;
    }
}
