using System.Globalization;

namespace Egressd.Shared.Bus;

/// <summary>One broker node the bus may connect to: a host name or IP address and its AMQP port.</summary>
public sealed record BrokerNode(string Host, int Port)
{
    /// <summary>
    /// Reads one <c>Egressd:Bus:RabbitMq:Hosts</c> entry: <c>host</c>, <c>host:port</c>, an IPv6
    /// address, or <c>[IPv6]:port</c>; the port defaults to <paramref name="defaultPort"/>. Null when
    /// the entry is none of these (the caller says so without echoing it: a URI there holds the password).
    /// </summary>
    public static BrokerNode? Parse(string entry, int defaultPort)
    {
        var text = entry.Trim();
        string host;
        string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return null;
            }

            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (!rest.StartsWith(':'))
                {
                    return null;
                }

                port = rest[1..];
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            (host, port) = (text[..colon], text[(colon + 1)..]);
        }
        else
        {
            host = text;
        }

        if (host.Length == 0 || Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            return null;
        }

        if (port is null)
        {
            return new BrokerNode(host, defaultPort);
        }

        return int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is >= 1 and <= 65535
            ? new BrokerNode(host, number)
            : null;
    }

    /// <summary>An IPv6 literal, which MassTransit's list of cluster nodes cannot carry (it splits entries at ':').</summary>
    public bool IsIPv6Literal => Uri.CheckHostName(Host) == UriHostNameType.IPv6;

    public override string ToString() => IsIPv6Literal ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
