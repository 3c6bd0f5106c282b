namespace Egressd.Shared.Kubernetes;

/// <summary>The API server's Status object: what it sends with a failed request and in a watch's ERROR event.</summary>
public sealed class ApiStatus
{
    public int Code { get; init; }

    public string? Reason { get; init; }

    public string? Message { get; init; }
}
