using System.Net;

namespace Egressd.Shared.Kubernetes;

/// <summary>The API server refused a request; the message is its own (a Status object's message when it sent one).</summary>
public sealed class ApiServerException(HttpStatusCode status, string message) : Exception($"{(int)status} {status}: {message}")
{
    public HttpStatusCode Status { get; } = status;
}
