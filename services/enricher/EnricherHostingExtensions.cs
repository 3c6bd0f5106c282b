using System.Net;
using Egressd.Contracts;
using Egressd.Enricher.Cluster;
using Egressd.Enricher.Enrichment;
using Egressd.Shared.Bus;
using Egressd.Shared.Hosting;
using Egressd.Shared.Inventory;
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
        services.AddOptions<InventoryOptions>().BindConfiguration(InventoryOptions.Section);
        services.AddEgressdNetwork();
        services.AddEgressdKubernetes();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new ClusterState(
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<KubernetesOptions>>().Value.DeletedPodRetention));
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EnricherOptions>>().Value;
            var network = sp.GetRequiredService<IOptions<NetworkOptions>>().Value;
            return new FlowEnricher(new TrafficClassifier(network.ParsePrivateCidrs(), Rules(options)), options.MaxFlowsPerBatch);
        });
        services.AddHostedService<ClusterSourceStarter>();
        services.AddHostedService<KubernetesClusterSource>();
        services.AddHealthChecks().AddCheck<ClusterReadyHealthCheck>("cluster-caches", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return builder;
    }

    private static IEnumerable<(IPNetwork, TrafficClass)> Rules(EnricherOptions options) =>
        options.InZoneCidrs.Select(c => (IPNetwork.Parse(c.Trim()), TrafficClass.SameZone))
            .Concat(options.InRegionCidrs.Select(c => (IPNetwork.Parse(c.Trim()), TrafficClass.CrossZone)))
            .Concat(options.CrossRegionCidrs.Select(c => (IPNetwork.Parse(c.Trim()), TrafficClass.CrossRegion)))
            .Concat(options.InternetCidrs.Select(c => (IPNetwork.Parse(c.Trim()), TrafficClass.Internet)));

    /// <summary>The source <c>auto</c> stands for here: Kubernetes, then the inventory file, then none.</summary>
    internal static string ResolveSource(EnricherOptions options, KubernetesOptions kubernetes, InventoryOptions inventory) =>
        options.Source.Trim().ToLowerInvariant() switch
        {
            EnricherSources.Auto when kubernetes.HasCluster => EnricherSources.Kubernetes,
            EnricherSources.Auto when !string.IsNullOrWhiteSpace(inventory.File) => EnricherSources.Inventory,
            EnricherSources.Auto => EnricherSources.None,
            var source => source,
        };
}
