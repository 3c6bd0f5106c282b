using System.Security.Authentication;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Bus;

public static class BusHostingExtensions
{
    /// <summary>Deliveries of one message on a quorum queue before the broker parks it in the endpoint's _dead queue.</summary>
    public const int DeliveryLimit = 20;

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

        // The transport is picked while the container is being built, so read it straight from
        // configuration; the validator reports a bad value with the setting's name at start.
        var transport = builder.Configuration.GetValue<string>($"{BusOptions.Section}:Transport")?.Trim().ToLowerInvariant()
            ?? BusTransports.InMemory;

        services.AddMassTransit(x =>
        {
            x.SetKebabCaseEndpointNameFormatter();
            consumers(x);

            x.AddConfigureEndpointsCallback((context, name, endpoint) =>
            {
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
                endpoint.ConcurrentMessageLimit = options.ConcurrentMessageLimit ?? options.PrefetchCount;
                endpoint.PrefetchCount = options.PrefetchCount;
                if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
                {
                    rabbit.SetQuorumQueue();
                    // A message that keeps killing its consumer (so never reaches _error) is parked
                    // in {queue}_dead after this many deliveries instead of looping forever.
                    rabbit.SetQueueArgument("x-delivery-limit", DeliveryLimit);
                    rabbit.BindDeadLetterQueue($"{name}_dead", $"{name}_dead");
                }
            });

            if (transport == BusTransports.RabbitMq)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    var options = context.GetRequiredService<IOptions<BusOptions>>().Value;
                    var rabbit = options.RabbitMq;
                    cfg.Host(rabbit.Host, (ushort)rabbit.Port, rabbit.VirtualHost, h =>
                    {
                        h.Username(rabbit.Username);
                        h.Password(rabbit.ResolvePassword());
                        h.PublisherConfirmation = true;
                        h.Heartbeat(rabbit.Heartbeat);
                        if (rabbit.UseTls)
                        {
                            h.UseSsl(s =>
                            {
                                s.Protocol = SslProtocols.Tls12 | SslProtocols.Tls13;
                                s.ServerName = rabbit.TlsServerName ?? rabbit.Host;
                            });
                        }
                    });
                    cfg.ConfigureEndpoints(context);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
            }
        });

        return builder;
    }
}
