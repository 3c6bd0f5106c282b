using Egressd.Shared.Kubernetes;

namespace Egressd.Collector.Pods;

/// <summary>The fields of a Pod the collector reads; the rest of each object is skipped while parsing.</summary>
internal sealed class PodObject : IApiObject
{
    public ApiObjectMeta? Metadata { get; init; }

    public PodSpec? Spec { get; init; }

    public PodStatus? Status { get; init; }

    internal sealed class PodSpec
    {
        public string? NodeName { get; init; }

        public bool HostNetwork { get; init; }
    }

    internal sealed class PodStatus
    {
        public string? PodIP { get; init; }

        public List<PodAddress>? PodIPs { get; init; }
    }

    internal sealed class PodAddress
    {
        public string? Ip { get; init; }
    }
}
