namespace Egressd.Shared.Bus;

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
