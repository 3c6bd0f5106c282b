using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Network;

public static class NetworkHostingExtensions
{
    /// <summary>Binds and validates <c>Egressd:Network</c>; safe to call from every service in one process.</summary>
    public static IServiceCollection AddEgressdNetwork(this IServiceCollection services)
    {
        // Once: a second binding would append the configured ranges to the list a second time.
        if (services.Any(d => d.ServiceType == typeof(IValidateOptions<NetworkOptions>)))
        {
            return services;
        }

        services.AddOptions<NetworkOptions>().BindConfiguration(NetworkOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<NetworkOptions>, NetworkOptionsValidator>();
        return services;
    }
}
