using System.Net.Security;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Egressd.Shared.Bus;

/// <summary>
/// Asks the broker, on a connection of its own, whether it knows an exchange type. MassTransit
/// cannot be asked: when the broker refuses a declaration it closes the whole connection, and
/// MassTransit reconnects and retries forever, logging why only at debug level.
/// </summary>
public static class BrokerProbe
{
    /// <summary>
    /// True when the broker declares an exchange of <paramref name="exchangeType"/> (a throwaway
    /// one, deleted again); false when it refuses the type. Throws when the broker cannot be reached.
    /// </summary>
    public static async Task<bool> KnowsExchangeTypeAsync(RabbitMqOptions rabbit, string exchangeType, ILogger logger, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            VirtualHost = rabbit.VirtualHost,
            UserName = rabbit.Username!,
            Password = rabbit.ResolvePassword(),
            ClientProvidedName = "egressd-probe",
        };
        var validator = rabbit.UseTls ? new BrokerCertificateValidator(rabbit, logger) : null;
        // Every node in order, the first that answers: any node of a cluster knows its exchange types.
        var endpoints = rabbit.Nodes().Select(node => new AmqpTcpEndpoint(node.Host, node.Port, validator is null
            ? new SslOption()
            : new SslOption
            {
                Enabled = true,
                ServerName = rabbit.ServerName(node),
                Version = SslProtocols.Tls12 | SslProtocols.Tls13,
                AcceptablePolicyErrors = SslPolicyErrors.None,
                CertificateValidationCallback = validator.Validate,
            })).ToList();

        await using var connection = await factory.CreateConnectionAsync(endpoints, cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        var name = $"{BusEndpoints.TemporaryPrefix}probe-{Guid.NewGuid():N}";
        try
        {
            await channel.ExchangeDeclareAsync(name, exchangeType, durable: false, autoDelete: true, cancellationToken: cancellationToken);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.CommandInvalid)
        {
            return false;
        }

        await channel.ExchangeDeleteAsync(name, cancellationToken: cancellationToken);
        return true;
    }
}
