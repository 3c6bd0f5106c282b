using RabbitMQ.Client;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// A RabbitMQ broker of one test's own (tests/private-rabbitmq.sh), for faults that take the
/// broker itself away: SIGKILL, a clean stop, a restart on the same ports with the same data.
/// Tests that each use one can run in parallel.
/// </summary>
internal sealed class PrivateBroker : IAsyncDisposable
{
    private readonly string directory;

    private PrivateBroker(string directory, Uri address)
    {
        this.directory = directory;
        Address = address;
    }

    /// <summary>Debian's rabbitmq-server, which the script runs.</summary>
    public const string Server = "/usr/lib/rabbitmq/bin/rabbitmq-server";

    public Uri Address { get; }

    /// <param name="prefix">The data directory's name prefix.</param>
    /// <param name="plugins">Comma-separated plugins to enable; by default the consistent-hash exchange, as the chart's brokers have.</param>
    public static async Task<PrivateBroker> StartAsync(string prefix = "egressd-fault-rabbitmq-", string plugins = "rabbitmq_consistent_hash_exchange")
    {
        var directory = Directory.CreateTempSubdirectory(prefix).FullName;
        var address = (await Task.Run(() => Shell.Run(Repo.Path("tests", "private-rabbitmq.sh"), "start", directory, plugins))).Trim();
        return new PrivateBroker(directory, new Uri(address));
    }

    /// <summary>SIGKILL of the broker's VM, as a node failure ends it: nothing is flushed or closed.</summary>
    public Task KillAsync() => Task.Run(() => Script("kill", directory));

    /// <summary>A clean stop: connections are closed by the broker.</summary>
    public Task HaltAsync() => Task.Run(() => Script("halt", directory));

    /// <summary>The same broker again: same ports, same queues and messages.</summary>
    public Task RestartAsync() => Task.Run(() => Script("restart", directory));

    /// <summary>The settings that point a service at this broker.</summary>
    public Dictionary<string, string?> BusSettings() => new()
    {
        ["Egressd:Bus:Transport"] = "rabbitmq",
        ["Egressd:Bus:RabbitMq:Host"] = Address.Host,
        ["Egressd:Bus:RabbitMq:Port"] = Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Egressd:Bus:RabbitMq:Username"] = "guest",
        ["Egressd:Bus:RabbitMq:Password"] = "guest",
        ["Egressd:Bus:RabbitMq:Heartbeat"] = "00:00:02",
        ["Egressd:Bus:PublishTimeout"] = "00:00:05",
    };

    /// <summary>Messages ready in a queue, or -1 when it does not exist (or the broker is away).</summary>
    public async Task<long> MessageCountAsync(string queue)
    {
        try
        {
            var factory = new ConnectionFactory { HostName = Address.Host, Port = Address.Port, UserName = "guest", Password = "guest" };
            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.BrokerUnreachableException)
        {
            return -1;
        }
    }

    public async ValueTask DisposeAsync() => await Task.Run(() => Script("stop", directory));

    private static string Script(string command, string directory) =>
        Shell.Run(Repo.Path("tests", "private-rabbitmq.sh"), command, directory);
}
