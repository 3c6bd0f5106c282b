namespace Egressd.Collector.Netfilter;

/// <summary>A netlink message that does not have the shape the kernel's conntrack messages have.</summary>
public sealed class NetlinkParseException : Exception
{
    public NetlinkParseException()
    {
    }

    public NetlinkParseException(string message)
        : base(message)
    {
    }

    public NetlinkParseException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
