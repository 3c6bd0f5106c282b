using Egressd.Shared.Hosting;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Bus;

internal sealed class BusOptionsValidator : IValidateOptions<BusOptions>
{
    // Below this not even a small batch fits; above it is more than RabbitMQ's own largest allowed message (512 MiB).
    private const long MinMessageBytes = 64 << 10;
    private const long MaxMessageBytes = 512L << 20;

    public ValidateOptionsResult Validate(string? name, BusOptions options)
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(options.Transport))
        {
            errors.Add(BusTransportNames.Error(options.Transport.ToString()));
        }

        DurationSetting.Validate(options.PublishTimeout, $"{BusOptions.Section}:PublishTimeout", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10), errors);
        DurationSetting.Validate(options.RetryInterval, $"{BusOptions.Section}:RetryInterval", TimeSpan.Zero, TimeSpan.FromMinutes(1), errors);

        if (options.PrefetchCount is < 1 or > 65535)
        {
            errors.Add($"Egressd:Bus:PrefetchCount must be between 1 and 65535 (got {options.PrefetchCount})");
        }

        if (options.ConcurrentMessageLimit is < 1)
        {
            errors.Add($"Egressd:Bus:ConcurrentMessageLimit must be at least 1 (got {options.ConcurrentMessageLimit})");
        }

        if (options.RetryLimit < 0)
        {
            errors.Add($"Egressd:Bus:RetryLimit must not be negative (got {options.RetryLimit})");
        }

        if (options.MaxMessageBytes is < MinMessageBytes or > MaxMessageBytes)
        {
            errors.Add($"Egressd:Bus:MaxMessageBytes must be between {MinMessageBytes} and {MaxMessageBytes} (got {options.MaxMessageBytes})");
        }

        if (options.Transport == BusTransport.RabbitMq)
        {
            ValidateRabbitMq(options.RabbitMq, errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateHosts(RabbitMqOptions rabbit, List<string> errors)
    {
        if (!string.IsNullOrWhiteSpace(rabbit.Host))
        {
            errors.Add("Egressd:Bus:RabbitMq:Host and Egressd:Bus:RabbitMq:Hosts are both set: list every node in Hosts and leave Host unset");
        }

        var nodes = new List<BrokerNode>();
        for (var i = 0; i < rabbit.Hosts.Count; i++)
        {
            if (BrokerNode.Parse(rabbit.Hosts[i] ?? "", rabbit.Port) is { } node)
            {
                nodes.Add(node);
            }
            else
            {
                // Never echoed, as for Host: a URI there holds the password.
                errors.Add($"Egressd:Bus:RabbitMq:Hosts:{i} must be a host name or IP address, optionally with ':port' ('[address]:port' for IPv6), not a URI or anything else");
            }
        }

        if (nodes.Count > 1 && nodes.FirstOrDefault(n => n.IsIPv6Literal) is { } literal)
        {
            errors.Add($"Egressd:Bus:RabbitMq:Hosts lists {literal} among several nodes: MassTransit's cluster list cannot carry IPv6 addresses, name each node by a DNS name");
        }

        if (nodes.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            errors.Add($"Egressd:Bus:RabbitMq:Hosts lists {twice.Key} more than once");
        }
    }

    private static void ValidateRabbitMq(RabbitMqOptions rabbit, List<string> errors)
    {
        DurationSetting.Validate(rabbit.Heartbeat, $"{BusOptions.Section}:RabbitMq:Heartbeat", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), errors);
        if (rabbit.Hosts.Count > 0)
        {
            ValidateHosts(rabbit, errors);
        }
        else if (string.IsNullOrWhiteSpace(rabbit.Host))
        {
            errors.Add("Egressd:Bus:RabbitMq:Host (one node) or Egressd:Bus:RabbitMq:Hosts (a cluster's nodes) is required when Egressd:Bus:Transport is 'rabbitmq'");
        }
        else if (Uri.CheckHostName(rabbit.Host.Trim()) == UriHostNameType.Unknown)
        {
            // Never echoed: "amqp://user:password@host" is the usual mistake, and it holds the password.
            errors.Add("Egressd:Bus:RabbitMq:Host must be a host name or IP address, not a URI or anything else: "
                + "set the port, virtual host, user name and password in their own Egressd:Bus:RabbitMq settings");
        }

        // No silent guest/guest: RabbitMQ lets that account in from loopback only, so the default
        // would work on a laptop and fail (or, with loopback_users changed, let anyone in) elsewhere.
        if (string.IsNullOrWhiteSpace(rabbit.Username))
        {
            errors.Add("Egressd:Bus:RabbitMq:Username is required when Egressd:Bus:Transport is 'rabbitmq' (there is no default account)");
        }

        if (string.IsNullOrEmpty(rabbit.Password) && string.IsNullOrEmpty(rabbit.PasswordFile))
        {
            errors.Add("Egressd:Bus:RabbitMq:Password or Egressd:Bus:RabbitMq:PasswordFile is required when Egressd:Bus:Transport is 'rabbitmq'");
        }

        if (rabbit.Port is < 1 or > 65535)
        {
            errors.Add($"Egressd:Bus:RabbitMq:Port must be between 1 and 65535 (got {rabbit.Port})");
        }

        if (string.IsNullOrEmpty(rabbit.VirtualHost))
        {
            errors.Add("Egressd:Bus:RabbitMq:VirtualHost must not be empty (use '/' for the default)");
        }

        if (rabbit.PasswordFile is { Length: > 0 } file)
        {
            try
            {
                using var stream = File.OpenRead(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Say why without echoing anything that could be the secret itself.
                errors.Add($"Egressd:Bus:RabbitMq:PasswordFile '{file}' cannot be read: {ex.GetType().Name}: {ex.Message}");
            }
        }

        if (rabbit.UseTls && rabbit.Hosts.Count > 1 && string.IsNullOrWhiteSpace(rabbit.TlsServerName))
        {
            errors.Add("Egressd:Bus:RabbitMq:TlsServerName is required with several Egressd:Bus:RabbitMq:Hosts and UseTls: "
                + "every node's certificate is checked against that one name (the cluster's service name, or a wildcard its certificates carry)");
        }

        if (rabbit.TlsCaFile is { Length: > 0 } caFile)
        {
            if (!rabbit.UseTls)
            {
                errors.Add("Egressd:Bus:RabbitMq:TlsCaFile is set but Egressd:Bus:RabbitMq:UseTls is not: the connection would be plaintext");
            }
            else if (BrokerCertificateValidator.LoadCaFile(caFile, out var problem) is null)
            {
                errors.Add($"Egressd:Bus:RabbitMq:TlsCaFile '{caFile}' {problem}");
            }
        }
    }
}
