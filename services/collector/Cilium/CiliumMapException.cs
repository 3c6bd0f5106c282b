namespace Egressd.Collector.Cilium;

/// <summary>A Cilium map could not be read as a whole (it went away, or kept changing under the read).</summary>
public sealed class CiliumMapException : Exception
{
    public CiliumMapException()
    {
    }

    public CiliumMapException(string message)
        : base(message)
    {
    }

    public CiliumMapException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
