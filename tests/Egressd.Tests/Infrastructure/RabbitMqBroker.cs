using RabbitMQ.Client;
using Testcontainers.RabbitMq;

[assembly: AssemblyFixture(typeof(Egressd.Tests.Infrastructure.RabbitMqBroker))]

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// The RabbitMQ broker integration tests run against: the address in EGRESSD_TEST_RABBITMQ
/// (./test.sh starts a private broker and sets it), else a private broker started here
/// (tests/private-rabbitmq.sh, when Debian's rabbitmq-server is installed) and stopped when the
/// test run ends, so <c>dotnet test</c> alone needs nothing more; else a Testcontainers broker
/// where Docker runs. Started on first use, so tests that need no broker never wait for one.
/// </summary>
public sealed class RabbitMqBroker : IAsyncDisposable
{
    public const string AddressVariable = "EGRESSD_TEST_RABBITMQ";

    private readonly SemaphoreSlim gate = new(1, 1);
    private RabbitMqContainer? container;
    private PrivateBroker? privateBroker;
    private Uri? address;

    /// <summary>The broker's amqp:// address; fails the test with one line saying how to get a broker.</summary>
    public async Task<Uri> AddressAsync()
    {
        await gate.WaitAsync();
        try
        {
            return address ??= await ResolveAsync();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The bus settings that point a service at this broker (or at <paramref name="portOverride"/>, a proxy in front of it).</summary>
    public async Task<Dictionary<string, string?>> BusSettingsAsync(int? portOverride = null)
    {
        var uri = await AddressAsync();
        var (user, password) = Credentials(uri);
        return new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "rabbitmq",
            ["Egressd:Bus:RabbitMq:Host"] = uri.Host,
            ["Egressd:Bus:RabbitMq:Port"] = (portOverride ?? uri.Port).ToString(),
            ["Egressd:Bus:RabbitMq:VirtualHost"] = VirtualHost(uri),
            ["Egressd:Bus:RabbitMq:Username"] = user,
            ["Egressd:Bus:RabbitMq:Password"] = password,
            // Faster failure detection than production's default keeps outage tests short.
            ["Egressd:Bus:RabbitMq:Heartbeat"] = "00:00:02",
            ["Egressd:Bus:PublishTimeout"] = "00:00:05",
        };
    }

    public async Task<IConnection> ConnectAsync()
    {
        var uri = await AddressAsync();
        var (user, password) = Credentials(uri);
        var factory = new ConnectionFactory
        {
            HostName = uri.Host,
            Port = uri.Port,
            VirtualHost = VirtualHost(uri),
            UserName = user,
            Password = password,
        };
        return await factory.CreateConnectionAsync();
    }

    /// <summary>Empties the given queues where they exist, so a test starts from a clean broker.</summary>
    public async Task PurgeAsync(params string[] queues)
    {
        await using var connection = await ConnectAsync();
        foreach (var queue in queues)
        {
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                await channel.QueueDeclarePassiveAsync(queue);
                await channel.QueuePurgeAsync(queue);
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // Not declared yet: nothing to purge.
            }
        }
    }

    public async Task DeleteQueueAsync(string queue)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeleteAsync(queue);
    }

    /// <summary>Messages ready in a queue, or -1 when it does not exist.</summary>
    public async Task<long> MessageCountAsync(string queue)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            var ok = await channel.QueueDeclarePassiveAsync(queue);
            return ok.MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return -1;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (container is not null)
        {
            await container.DisposeAsync();
        }

        if (privateBroker is not null)
        {
            await privateBroker.DisposeAsync();
        }

        gate.Dispose();
    }

    private async Task<Uri> ResolveAsync()
    {
        if (Environment.GetEnvironmentVariable(AddressVariable) is { Length: > 0 } configured)
        {
            return new Uri(configured);
        }

        if (File.Exists(PrivateBroker.Server))
        {
            privateBroker = await PrivateBroker.StartAsync("egressd-test-rabbitmq-");
            return privateBroker.Address;
        }

        if (File.Exists("/var/run/docker.sock") || Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 })
        {
            container = new RabbitMqBuilder("rabbitmq:3.13-management-alpine").Build();
            await container.StartAsync();
            return new Uri(container.GetConnectionString());
        }

        throw new InvalidOperationException(
            $"No RabbitMQ broker: set {AddressVariable}=amqp://user:password@host:port/, or install rabbitmq-server (apt-get install rabbitmq-server; the tests then start a private one), or run Docker for Testcontainers.");
    }

    private static (string User, string Password) Credentials(Uri uri)
    {
        var parts = uri.UserInfo.Split(':', 2);
        return parts.Length == 2 && parts[0].Length > 0
            ? (Uri.UnescapeDataString(parts[0]), Uri.UnescapeDataString(parts[1]))
            : ("guest", "guest");
    }

    private static string VirtualHost(Uri uri)
    {
        var path = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        return path.Length == 0 ? "/" : path;
    }
}

/// <summary>Tests that share the broker's queues run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class BrokerCollection
{
    public const string Name = "broker";
}
