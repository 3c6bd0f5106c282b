using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Egressd.Contracts;
using Egressd.Shared.Hosting;
using Egressd.Shared.Wire;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Bus;

public static partial class BusHostingExtensions
{
    /// <summary>Deliveries of one message on a quorum queue before the broker parks it in the endpoint's _dead queue.</summary>
    public const int DeliveryLimit = 20;

    /// <summary>
    /// Replicas of each quorum queue: a majority (two) survives one node down, and RabbitMQ places
    /// them on as many nodes as the cluster has when it has fewer. More replicas would only add a
    /// copy of every message to each write on a larger cluster, with no more nodes allowed down at once.
    /// </summary>
    public const int QuorumReplicas = 3;

    /// <summary>
    /// The one bus of a process. Services add their consumers through <paramref name="consumers"/>;
    /// the local runner calls this once with every service's consumers, so it must run before any
    /// service registers hosted services that publish (hosted services stop in reverse order, and a
    /// publisher has to stop before the bus does).
    /// </summary>
    public static IHostApplicationBuilder AddEgressdBus(this IHostApplicationBuilder builder, Action<IBusRegistrationConfigurator> consumers)
    {
        var services = builder.Services;
        services.AddOptions<BusOptions>().BindConfiguration(BusOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BusOptions>, BusOptionsValidator>();
        services.AddMetrics<BusMetrics>();

        // The transport is picked while the container is being built, so read it straight from
        // configuration, and stop here with the setting's name when it names no transport.
        var configured = builder.Configuration[$"{BusOptions.Section}:Transport"];
        var transport = BusTransportNames.Parse(configured)
            ?? throw new OptionsValidationException(BusOptions.Section, typeof(BusOptions), [BusTransportNames.Error(configured)]);

        services.AddMassTransit(x =>
        {
            // MassTransit 8.4+ reports usage to its vendor unless told not to; a network agent
            // never calls anywhere it was not configured to.
            x.DisableUsageTelemetry();
            x.SetKebabCaseEndpointNameFormatter();
            consumers(x);

            x.AddConfigureEndpointsCallback((context, name, endpoint) =>
            {
                if (name.StartsWith(BusEndpoints.TemporaryPrefix, StringComparison.Ordinal))
                {
                    // A process's own queue (auto-deleted with it): no quorum, no dead-letter queue to outlive it.
                    return;
                }

                var options = context.GetRequiredService<IOptions<BusOptions>>().Value;
                // A returned mandatory publish means the next hop's queue is not bound yet (its
                // service has never started on this broker). Wait that out for minutes rather than
                // park the message after a second; bindings are durable, so this is a first-deploy case.
                endpoint.UseMessageRetry(r =>
                {
                    r.Handle<MessageReturnedException>();
                    r.Ignore<InvalidMessageException>();
                    r.Exponential(10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(2));
                });
                endpoint.UseMessageRetry(r =>
                {
                    r.Ignore<MessageReturnedException>();
                    r.Ignore<InvalidMessageException>();
                    r.Interval(options.RetryLimit, options.RetryInterval);
                });
                // Publishes made while consuming leave only when the consumer succeeds.
                endpoint.UseInMemoryOutbox(context);
                endpoint.UseFaultAccounting(context, name, options);
                endpoint.ConcurrentMessageLimit = options.EffectiveConcurrentMessageLimit;
                endpoint.PrefetchCount = options.PrefetchCount;
                if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
                {
                    // Sets x-quorum-initial-group-size; the _error and _skipped queues copy the arguments.
                    rabbit.SetQuorumQueue(QuorumReplicas);
                    // A message that keeps killing its consumer (so never reaches _error) is parked
                    // in {queue}_dead after this many deliveries instead of looping forever.
                    rabbit.SetQueueArgument("x-delivery-limit", DeliveryLimit);
                    // Replicated too: the endpoint declares it at every start, and a classic queue
                    // lives on one node, so that node being down would keep the endpoint from starting.
                    rabbit.BindDeadLetterQueue($"{name}_dead", $"{name}_dead", q => q.SetQuorumQueue(QuorumReplicas));
                }
            });

            if (transport == BusTransport.RabbitMq)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    var options = context.GetRequiredService<IOptions<BusOptions>>().Value;
                    var rabbit = options.RabbitMq;
                    var logger = context.GetRequiredService<ILoggerFactory>().CreateLogger("Egressd.Shared.Bus");
                    var nodes = rabbit.Nodes();
                    if (!rabbit.UseTls && nodes.Where(n => !IsLoopback(n.Host)).ToList() is { Count: > 0 } remote)
                    {
                        LogPlaintext(logger, string.Join(", ", remote));
                    }

                    var first = nodes[0];
                    cfg.Host(first.Host, (ushort)first.Port, rabbit.VirtualHost, h =>
                    {
                        if (nodes.Count > 1)
                        {
                            // MassTransit hands the client one node per connection attempt, the next
                            // one after each failure, so a node that is down costs one attempt.
                            // Each process starts at its own node, so a deployment's connections
                            // spread over the cluster instead of all landing on the first node.
                            var start = Environment.ProcessId % nodes.Count;
                            h.UseCluster(c =>
                            {
                                for (var i = 0; i < nodes.Count; i++)
                                {
                                    c.Node(nodes[(start + i) % nodes.Count].ToString());
                                }
                            });
                        }

                        h.Username(rabbit.Username!);
                        h.Password(rabbit.ResolvePassword());
                        h.PublisherConfirmation = true;
                        h.Heartbeat(rabbit.Heartbeat);
                        if (rabbit.UseTls)
                        {
                            h.UseSsl(s =>
                            {
                                s.Protocol = SslProtocols.Tls12 | SslProtocols.Tls13;
                                s.ServerName = rabbit.ServerName(first);
                                // MassTransit accepts chain errors by default; accept no error at
                                // all, and let the validator decide (and say why it refuses).
                                s.EnforcePolicyErrors(SslPolicyErrors.RemoteCertificateChainErrors
                                    | SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable);
                                s.CertificateValidationCallback = new BrokerCertificateValidator(rabbit, logger).Validate;
                            });
                        }
                    });
                    cfg.UseFlowWire();
                    cfg.ConfigureEndpoints(context);
                    cfg.ConfigureNamedEndpoints(context);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) =>
                {
                    cfg.UseFlowWire();
                    cfg.ConfigureEndpoints(context);
                    cfg.ConfigureNamedEndpoints(context);
                });
            }
        });

        return builder;
    }

    /// <summary>
    /// Batches travel in egressd's dense wire (<see cref="FlowWire"/>), which publishers pick per
    /// message; MassTransit's JSON stays the bus's default for everything that is not a batch
    /// (faults). A collector's <see cref="EncodedFlowBatch"/> goes to the collected batch's exchange.
    /// </summary>
    private static void UseFlowWire(this IBusFactoryConfigurator cfg)
    {
        cfg.AddSerializer(FlowWireSerializerFactory.Instance, isSerializer: false);
        cfg.AddDeserializer(FlowWireSerializerFactory.Instance);
        cfg.Message<EncodedFlowBatch>(m => m.SetEntityName(cfg.MessageTopology.EntityNameFormatter.FormatEntityName<FlowBatchCollected>()));
    }

    /// <summary>The endpoints services name themselves (<see cref="INamedReceiveEndpoints"/>), wired as the ones MassTransit names.</summary>
    private static void ConfigureNamedEndpoints(this IReceiveConfigurator cfg, IBusRegistrationContext context)
    {
        var wiring = context.GetConfigureReceiveEndpoints();
        foreach (var source in context.GetServices<INamedReceiveEndpoints>())
        {
            foreach (var (queue, configure) in source.Endpoints())
            {
                cfg.ReceiveEndpoint(queue, endpoint =>
                {
                    wiring.Configure(queue, endpoint);
                    configure(endpoint);
                });
            }
        }
    }

    /// <summary>Loopback by name or address; no DNS lookup (a name resolving to loopback still gets the warning).</summary>
    private static bool IsLoopback(string host)
    {
        host = host.Trim().Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning,
        Message = "AMQP to {Nodes} is plaintext: the broker password and every flow cross the network readable; set Egressd:Bus:RabbitMq:UseTls=true")]
    private static partial void LogPlaintext(ILogger logger, string nodes);
}
