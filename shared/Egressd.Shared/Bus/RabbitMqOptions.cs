namespace Egressd.Shared.Bus;

/// <summary>Settings under <c>Egressd:Bus:RabbitMq</c>.</summary>
public sealed class RabbitMqOptions
{
    /// <summary>The broker's host, when it is one node (else <see cref="Hosts"/>).</summary>
    public string? Host { get; set; }

    /// <summary>
    /// The nodes of a RabbitMQ cluster, each <c>host</c> or <c>host:port</c> (port defaults to
    /// <see cref="Port"/>). The bus connects to one and moves to the next when it cannot; every
    /// node holds every queue's definition, and quorum queues their messages on several of them.
    /// </summary>
    public List<string> Hosts { get; set; } = [];

    public int Port { get; set; } = 5672;

    public string VirtualHost { get; set; } = "/";

    /// <summary>Required with <c>rabbitmq</c>: there is no default account.</summary>
    public string? Username { get; set; }

    /// <summary>The broker password. Prefer <see cref="PasswordFile"/> for a mounted secret.</summary>
    public string? Password { get; set; }

    /// <summary>A file whose content (trailing newline trimmed) is the broker password.</summary>
    public string? PasswordFile { get; set; }

    public bool UseTls { get; set; }

    /// <summary>
    /// The name the broker's certificate must carry (defaults to <see cref="Host"/>). Required with
    /// several <see cref="Hosts"/>: MassTransit checks every node against one name, so their
    /// certificates must all carry it (the cluster's service name, or a wildcard).
    /// </summary>
    public string? TlsServerName { get; set; }

    /// <summary>
    /// A PEM bundle of the CA certificates the broker's chain must lead to, instead of the
    /// system's trust store (for a private CA).
    /// </summary>
    public string? TlsCaFile { get; set; }

    /// <summary>Heartbeat interval; a dead connection is noticed within about twice this.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The nodes to connect to, in order: <see cref="Hosts"/> when set, else <see cref="Host"/>;
    /// entries that do not parse are left out (the validator refuses them at start).
    /// </summary>
    public IReadOnlyList<BrokerNode> Nodes()
    {
        IEnumerable<string> entries = Hosts.Count > 0 ? Hosts : Host is { Length: > 0 } host ? [host] : [];
        return [.. entries.Select(e => Hosts.Count > 0 ? BrokerNode.Parse(e, Port) : new BrokerNode(e.Trim(), Port)).OfType<BrokerNode>()];
    }

    /// <summary>The name a node's TLS certificate is checked against.</summary>
    public string ServerName(BrokerNode node) => TlsServerName ?? node.Host;

    /// <summary>The password from <see cref="PasswordFile"/> or <see cref="Password"/> (the validator makes sure one is set).</summary>
    public string ResolvePassword() =>
        PasswordFile is { Length: > 0 } file ? File.ReadAllText(file).TrimEnd('\r', '\n')
        : Password ?? "";
}
