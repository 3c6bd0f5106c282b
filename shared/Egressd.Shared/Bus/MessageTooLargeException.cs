namespace Egressd.Shared.Bus;

/// <summary>A message body larger than <c>Egressd:Bus:MaxMessageBytes</c>, refused before it is read.</summary>
public sealed class MessageTooLargeException : Exception
{
    public MessageTooLargeException()
    {
    }

    public MessageTooLargeException(string message)
        : base(message)
    {
    }

    public MessageTooLargeException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
