using Egressd.Collector.Cilium;
using Egressd.Collector.Dns;
using Egressd.Collector.Flows;
using Egressd.Collector.HostNetwork;
using Egressd.Collector.Native;
using Egressd.Collector.Netfilter;
using Egressd.Collector.Pods;
using Egressd.Collector.Replay;
using Egressd.Contracts;
using Egressd.Shared.Bus;
using Egressd.Shared.Cluster;
using Egressd.Shared.Hosting;
using Egressd.Shared.Kubernetes;
using Egressd.Shared.Network;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Egressd.Collector;

public static class CollectorHostingExtensions
{
    /// <summary>The collector as a service of its own: its bus, its parts, and its start-up code handed back once it runs.</summary>
    public static IHostApplicationBuilder AddCollector(this IHostApplicationBuilder builder)
    {
        builder.AddEgressdBus(x => x.AddCollectorConsumers());
        if (OperatingSystem.IsLinux())
        {
            builder.Services.AddSingleton<StartupCode>();
        }

        return builder.AddCollectorServices();
    }

    /// <summary>The collector only publishes; it has no consumers.</summary>
    public static IBusRegistrationConfigurator AddCollectorConsumers(this IBusRegistrationConfigurator bus) => bus;

    /// <summary>The collector's parts, for a process whose bus is wired elsewhere (the local runner, tests).</summary>
    public static IHostApplicationBuilder AddCollectorServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<CollectorOptions>().BindConfiguration(CollectorOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CollectorOptions>, CollectorOptionsValidator>();
        services.AddEgressdClusterContext();
        services.AddMetrics<CollectorMetrics>();
        // Not declared: a conntrack reader creates it, so a replaying collector shows none of it.
        services.TryAddSingleton<ConntrackMetrics>();
        services.AddMetrics<DnsMetrics>();
        services.AddMetrics<HostNetworkMetrics>();
        services.TryAddSingleton(sp => new PendingFlows(sp.GetRequiredService<IOptions<CollectorOptions>>().Value.MaxPendingKeys, sp.GetRequiredService<CollectorMetrics>()));
        services.TryAddSingleton(CreateLocalPods);
        services.TryAddSingleton(CreateFlowReader);
        services.TryAddSingleton<IBatchPublisher, BusBatchPublisher>();
        services.AddOptions<DnsOptions>().BindConfiguration(DnsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DnsOptions>, DnsOptionsValidator>();
        services.TryAddSingleton(sp => new DnsAnswerInbox(sp.GetRequiredService<IOptions<DnsOptions>>().Value.MaxEntries));
        services.AddHostedService<LocalPodsWatcher>();
        services.AddHostedService<DnsCapture>();
        services.AddHostedService<CollectorWorker>();
        services.AddHealthChecks().AddCheck<LocalPodsHealthCheck>("local-pods", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return builder;
    }

    private static ILocalPods CreateLocalPods(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<CollectorOptions>>().Value;
        var context = services.GetRequiredService<ClusterContext>();
        return context.Source switch
        {
            ClusterContextSource.Kubernetes => new KubernetesLocalPods(
                options.ResolveNodeName(),
                options.ExcludedNamespaces(),
                services.GetRequiredService<IOptions<KubernetesOptions>>().Value,
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILoggerFactory>().CreateLogger("Egressd.Kubernetes"),
                services.GetRequiredService<KubernetesMetrics>()),
            ClusterContextSource.Inventory => new InventoryLocalPods(context.InventoryFile!, options.ResolveNodeName(), options.ExcludedNamespaces()),
            _ => new AnyAddressIsLocal(),
        };
    }

    /// <summary>The flow source, with the captured DNS answers moved into each read's window.</summary>
    private static IFlowReader CreateFlowReader(IServiceProvider services) => new DnsAnsweringFlowReader(
        CreateSourceReader(services), services.GetRequiredService<DnsAnswerInbox>(), services.GetRequiredService<PendingFlows>());

    private static IFlowReader CreateSourceReader(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<CollectorOptions>>().Value;
        var pending = services.GetRequiredService<PendingFlows>();
        var source = options.ResolveSource();
        if (source == FlowSource.Replay || !OperatingSystem.IsLinux())
        {
            return new ReplayFlowReader(options.ReplayFile!, options.ReplayLoop, services.GetRequiredService<TimeProvider>(), pending);
        }

        return source == FlowSource.Cilium ? CreateCiliumReader(services, options, pending) : CreateNetfilterReader(services, options, pending);
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static ConntrackReducer CreateReducer(IServiceProvider services, CollectorOptions options, PendingFlows pending, bool newEvents = false)
    {
        var pods = services.GetRequiredService<ILocalPods>();
        var hostMetrics = services.GetRequiredService<HostNetworkMetrics>();
        var hostNetwork = HostNetworkSetup.Create(options, pods, hostMetrics, services.GetRequiredService<ILoggerFactory>().CreateLogger("Egressd.Collector.HostNetwork"), newEvents: newEvents);
        return new(
            pods,
            services.GetRequiredService<IOptions<NetworkOptions>>().Value.PublicAddresses(),
            options.GroupPublicDestinations,
            pending,
            // Compared with the kernel's start times, which are the real wall clock.
            TimeProvider.System,
            services.GetRequiredService<CollectorMetrics>(),
            hostNetwork,
            hostMetrics);
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static CiliumFlowReader CreateCiliumReader(IServiceProvider services, CollectorOptions options, PendingFlows pending)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Egressd.Collector.Cilium");
        var conntrack = new CiliumConntrack(options.BpfRoot, options.CiliumCounters, new CiliumClock(options.CiliumClock));
        var reducer = CreateReducer(services, options, pending);
        // Before the first read, so every entry of it meets the restart rule.
        var checkpoint = ConntrackCheckpoint.OpenForCilium(options.StateDirectory, options.BpfRoot, reducer, TimeProvider.System.GetUtcNow(), logger, services.GetRequiredService<CollectorMetrics>(),
            note: () => conntrack.Layout.ToString(),
            onNote: saved =>
            {
                if (Enum.TryParse<CiliumCounterLayout>(saved, out var layout))
                {
                    conntrack.Seed(layout);
                }
            });
        var reader = new CiliumFlowReader(conntrack, reducer, logger, services.GetRequiredService<ConntrackMetrics>(), checkpoint);
        reader.LogStart(options.BpfRoot, options.CiliumCounters, options.CiliumClock);
        return reader;
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static NetfilterFlowReader CreateNetfilterReader(IServiceProvider services, CollectorOptions options, PendingFlows pending)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Egressd.Collector.Conntrack");
        var netns = options.NetnsPath();
        var reducer = CreateReducer(services, options, pending, newEvents: true);
        // Before the first read, so every entry of it meets the restart rule.
        var checkpoint = ConntrackCheckpoint.Open(options.StateDirectory, netns, reducer, TimeProvider.System.GetUtcNow(), logger, services.GetRequiredService<CollectorMetrics>());
        var conntrack = new NetfilterConntrack(netns);
        var events = options.DestroyEvents ? ConntrackEventListener.Open(netns, options.EventBufferBytes, logger) : null;
        return new NetfilterFlowReader(conntrack, events, reducer, netns, logger, services.GetRequiredService<ConntrackMetrics>(), checkpoint);
    }
}
