using System.Globalization;
using RabbitMQ.Client;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// A three-node RabbitMQ cluster of one test's own (tests/private-rabbitmq-cluster.sh), for faults
/// that take one node away: SIGKILL, a clean stop, a partition, a rolling restart. Nodes are
/// numbered 1 to 3. Tests that each use one can run in parallel; they are heavy, so the cluster
/// fault tests share one collection and run one after another.
/// </summary>
internal sealed class PrivateCluster : IAsyncDisposable
{
    public const int Nodes = 3;

    /// <summary>Three nodes start and join one after another on a loaded machine: minutes, not seconds.</summary>
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(6);

    private readonly string directory;

    private PrivateCluster(string directory, IReadOnlyList<string> endpoints)
    {
        this.directory = directory;
        Endpoints = endpoints;
    }

    /// <summary>Each node's AMQP endpoint, <c>127.0.0.1:port</c>, node 1 first.</summary>
    public IReadOnlyList<string> Endpoints { get; }

    public static async Task<PrivateCluster> StartAsync()
    {
        // A node's own start can time out on a starved machine (mnesia not up in time, exit 69):
        // that is the test's set-up failing, not what it tests, so a fresh cluster is tried once more.
        for (var attempt = 1; ; attempt++)
        {
            var directory = Directory.CreateTempSubdirectory("egressd-cluster-rabbitmq-").FullName;
            try
            {
                var endpoints = (await Task.Run(() => Script("start", directory))).Trim().Split(',');
                return new PrivateCluster(directory, endpoints);
            }
            catch (InvalidOperationException ex) when (attempt == 1)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"the private cluster did not start, trying once more: {ex.Message}");
                await Task.Run(() => Script("stop", directory));
            }
            catch
            {
                await Task.Run(() => Script("stop", directory));
                throw;
            }
        }
    }

    /// <summary>SIGKILL of everything the node runs, as a machine failure ends it.</summary>
    public Task KillAsync(int node) => Task.Run(() => Script("kill", directory, Node(node)));

    /// <summary>A clean stop of one node.</summary>
    public Task HaltAsync(int node) => Task.Run(() => Script("halt", directory, Node(node)));

    /// <summary>The same node again, rejoining the cluster from its data.</summary>
    public Task RestartAsync(int node) => Task.Run(() => Script("restart", directory, Node(node)));

    /// <summary>Waits until stopping the node leaves every quorum queue a majority (the operator's pre-stop check).</summary>
    public Task AwaitQuorumWithoutAsync(int node) => Task.Run(() => Script("quorum", directory, Node(node)));

    /// <summary>Cuts the node off from the other two and from every client; it keeps running.</summary>
    public Task PartitionAsync(int node) => Task.Run(() => Script("partition", directory, Node(node)));

    public Task HealAsync(int node) => Task.Run(() => Script("heal", directory, Node(node)));

    /// <summary>The node leading a quorum queue; null when no node does (a classic queue, or none by that name).</summary>
    public async Task<int?> LeaderAsync(string queue)
    {
        var (code, output, _) = await Task.Run(() => Shell.TryRun(ScriptTimeout, Repo.Path("tests", "private-rabbitmq-cluster.sh"), "leader", directory, queue));
        return code == 0 ? int.Parse(output.Trim(), CultureInfo.InvariantCulture) : null;
    }

    /// <summary>The settings that point a service at the cluster: every node, as a chart would list them.</summary>
    public Dictionary<string, string?> BusSettings()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "rabbitmq",
            ["Egressd:Bus:RabbitMq:Username"] = "guest",
            ["Egressd:Bus:RabbitMq:Password"] = "guest",
            ["Egressd:Bus:RabbitMq:Heartbeat"] = "00:00:02",
            ["Egressd:Bus:PublishTimeout"] = "00:00:05",
        };
        for (var i = 0; i < Endpoints.Count; i++)
        {
            settings[$"Egressd:Bus:RabbitMq:Hosts:{i}"] = Endpoints[i];
        }

        return settings;
    }

    /// <summary>Messages ready in a queue, asked of any node that answers; -1 when none does or the queue does not exist.</summary>
    public async Task<long> MessageCountAsync(string queue)
    {
        var factory = new ConnectionFactory
        {
            UserName = "guest",
            Password = "guest",
            // A partitioned node drops the handshake: give up on it soon and ask the next one.
            RequestedConnectionTimeout = TimeSpan.FromSeconds(3),
            ContinuationTimeout = TimeSpan.FromSeconds(10),
        };
        var endpoints = Endpoints.Select(e => e.Split(':')).Select(p => new AmqpTcpEndpoint(p[0], int.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
        try
        {
            await using var connection = await factory.CreateConnectionAsync(endpoints);
            await using var channel = await connection.CreateChannelAsync();
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.OperationInterruptedException
            or RabbitMQ.Client.Exceptions.BrokerUnreachableException or TimeoutException or IOException)
        {
            return -1;
        }
    }

    public async ValueTask DisposeAsync() => await Task.Run(() => Script("stop", directory));

    private static string Node(int node) =>
        node is >= 1 and <= Nodes ? node.ToString(CultureInfo.InvariantCulture) : throw new ArgumentOutOfRangeException(nameof(node));

    private static string Script(string command, params string[] args) =>
        Shell.Run(ScriptTimeout, Repo.Path("tests", "private-rabbitmq-cluster.sh"), [command, .. args]);
}
