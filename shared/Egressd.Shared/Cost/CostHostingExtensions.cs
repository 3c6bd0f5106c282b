using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Cost;

public static class CostHostingExtensions
{
    /// <summary>Binds and validates <c>Egressd:Cost</c> and offers the <see cref="PriceModel"/> and <see cref="NodePlacementResolver"/> built from it; safe to call twice.</summary>
    public static IServiceCollection AddEgressdCost(this IServiceCollection services)
    {
        // Once: a second binding would append the configured lists a second time.
        if (services.Any(d => d.ServiceType == typeof(IValidateOptions<CostOptions>)))
        {
            return services;
        }

        services.AddOptions<CostOptions>().BindConfiguration(CostOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CostOptions>, CostOptionsValidator>();
        services.TryAddSingleton(sp => new PriceModel(sp.GetRequiredService<IOptions<CostOptions>>().Value));
        services.TryAddSingleton(sp => new NodePlacementResolver(sp.GetRequiredService<IOptions<CostOptions>>().Value));
        return services;
    }
}
