namespace Egressd.Collector.Flows;

/// <summary>
/// The flow source cannot be read at all and will not recover by retrying (a missing capability,
/// say). The collector logs the message as one line and stops with exit code 1.
/// </summary>
public sealed class FlowSourceUnavailableException : Exception
{
    public FlowSourceUnavailableException()
    {
    }

    public FlowSourceUnavailableException(string message)
        : base(message)
    {
    }

    public FlowSourceUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
