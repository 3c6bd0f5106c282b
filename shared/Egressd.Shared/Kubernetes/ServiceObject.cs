namespace Egressd.Shared.Kubernetes;

/// <summary>The fields of a Service egressd reads: its cluster addresses.</summary>
public sealed class ServiceObject : IApiObject
{
    public ApiObjectMeta? Metadata { get; init; }

    public ServiceSpec? Spec { get; init; }

    public sealed class ServiceSpec
    {
        public string? ClusterIP { get; init; }

        public List<string>? ClusterIPs { get; init; }
    }
}
