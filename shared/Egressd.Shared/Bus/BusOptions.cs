namespace Egressd.Shared.Bus;

/// <summary>Settings under <c>Egressd:Bus</c>.</summary>
public sealed class BusOptions
{
    public const string Section = "Egressd:Bus";

    /// <summary><c>inmemory</c> (everything in one process) or <c>rabbitmq</c>, in any case.</summary>
    public BusTransport Transport { get; set; } = BusTransport.InMemory;

    public RabbitMqOptions RabbitMq { get; set; } = new();

    /// <summary>How long a publish may wait for the broker's confirm before it counts as failed.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Messages the broker hands each consumer before they are acknowledged.</summary>
    public int PrefetchCount { get; set; } = 16;

    /// <summary>Messages one endpoint handles at once (defaults to the prefetch count).</summary>
    public int? ConcurrentMessageLimit { get; set; }

    /// <summary>Immediate retries of a failed message before it goes to the endpoint's <c>_error</c> queue.</summary>
    public int RetryLimit { get; set; } = 3;

    /// <summary>Pause between those retries.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A received body larger than this goes to the endpoint's <c>_error</c> queue unread.</summary>
    public long MaxMessageBytes { get; set; } = 16 << 20;
}

/// <summary>Settings under <c>Egressd:Bus:RabbitMq</c>.</summary>
public sealed class RabbitMqOptions
{
    public string? Host { get; set; }

    public int Port { get; set; } = 5672;

    public string VirtualHost { get; set; } = "/";

    /// <summary>Required with <c>rabbitmq</c>: there is no default account.</summary>
    public string? Username { get; set; }

    /// <summary>The broker password. Prefer <see cref="PasswordFile"/> for a mounted secret.</summary>
    public string? Password { get; set; }

    /// <summary>A file whose content (trailing newline trimmed) is the broker password.</summary>
    public string? PasswordFile { get; set; }

    public bool UseTls { get; set; }

    /// <summary>The name the broker's certificate must carry (defaults to <see cref="Host"/>).</summary>
    public string? TlsServerName { get; set; }

    /// <summary>
    /// A PEM bundle of the CA certificates the broker's chain must lead to, instead of the
    /// system's trust store (for a private CA).
    /// </summary>
    public string? TlsCaFile { get; set; }

    /// <summary>Heartbeat interval; a dead connection is noticed within about twice this.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The password from <see cref="PasswordFile"/> or <see cref="Password"/> (the validator makes sure one is set).</summary>
    public string ResolvePassword() =>
        PasswordFile is { Length: > 0 } file ? File.ReadAllText(file).TrimEnd('\r', '\n')
        : Password ?? "";
}
