namespace Egressd.Shared.Kubernetes;

/// <summary>The fields of a Pod egressd reads; the rest of each object is skipped while parsing.</summary>
public sealed class PodObject : IApiObject
{
    public ApiObjectMeta? Metadata { get; init; }

    public PodSpec? Spec { get; init; }

    public PodStatus? Status { get; init; }

    public sealed class PodSpec
    {
        public string? NodeName { get; init; }

        public bool HostNetwork { get; init; }
    }

    public sealed class PodStatus
    {
        public string? PodIP { get; init; }

        public List<PodAddress>? PodIPs { get; init; }
    }

    public sealed class PodAddress
    {
        public string? Ip { get; init; }
    }
}
