namespace Egressd.Shared.Bus;

/// <summary>
/// A message that can never be processed, however often it is tried: it goes straight to the
/// endpoint's <c>_error</c> queue (no retries) and is counted with <see cref="Reason"/>.
/// </summary>
public sealed class InvalidMessageException : Exception
{
    public InvalidMessageException()
    {
    }

    public InvalidMessageException(string message)
        : base(message)
    {
    }

    public InvalidMessageException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The fault metric's <c>reason</c> label (one of <see cref="FaultReasons"/>).</summary>
    public string Reason { get; init; } = FaultReasons.Invalid;
}
