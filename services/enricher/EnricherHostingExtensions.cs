using Egressd.Contracts;
using Egressd.Enricher.Cluster;
using Egressd.Enricher.Enrichment;
using Egressd.Shared.Bus;
using Egressd.Shared.Cluster;
using Egressd.Shared.Cost;
using Egressd.Shared.Hosting;
using Egressd.Shared.Kubernetes;
using Egressd.Shared.Network;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Egressd.Enricher;

public static class EnricherHostingExtensions
{
    /// <summary>The enricher as a service of its own: its bus, then its parts.</summary>
    public static IHostApplicationBuilder AddEnricher(this IHostApplicationBuilder builder)
    {
        builder.AddEgressdBus(x => x.AddEnricherConsumers());
        return builder.AddEnricherServices();
    }

    public static IBusRegistrationConfigurator AddEnricherConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<FlowBatchCollectedConsumer, FlowBatchCollectedConsumerDefinition>();
        return bus;
    }

    /// <summary>The enricher's parts, for a process whose bus is wired elsewhere.</summary>
    public static IHostApplicationBuilder AddEnricherServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<EnricherOptions>().BindConfiguration(EnricherOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EnricherOptions>, EnricherOptionsValidator>();
        services.AddEgressdClusterContext();
        services.AddEgressdCost();
        services.AddMetrics<EnricherMetrics>();
        services.TryAddSingleton(sp => new ClusterState(
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<KubernetesOptions>>().Value.DeletedPodRetention,
            sp.GetRequiredService<NodePlacementResolver>()));
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EnricherOptions>>().Value;
            var network = sp.GetRequiredService<IOptions<NetworkOptions>>().Value;
            return new FlowEnricher(new TrafficClassifier(network.PublicAddresses(), Rules(options)), options.MaxFlowsPerBatch, new DnsNameMap(options.DnsMaxEntries, sp.GetRequiredService<EnricherMetrics>()), sp.GetRequiredService<PriceModel>());
        });
        services.AddHostedService<ClusterSourceStarter>();
        services.AddHostedService<KubernetesClusterSource>();
        services.AddHealthChecks().AddCheck<ClusterReadyHealthCheck>("cluster-caches", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return builder;
    }

    // In this order the first match wins, as the options document.
    private static IEnumerable<(CidrSet, TrafficClass)> Rules(EnricherOptions options) =>
    [
        (CidrSet.Parse(options.InZoneCidrs), TrafficClass.SameZone),
        (CidrSet.Parse(options.InRegionCidrs), TrafficClass.CrossZone),
        (CidrSet.Parse(options.CrossRegionCidrs), TrafficClass.CrossRegion),
        (CidrSet.Parse(options.InternetCidrs), TrafficClass.Internet),
    ];
}
