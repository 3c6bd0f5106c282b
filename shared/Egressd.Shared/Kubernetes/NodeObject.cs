namespace Egressd.Shared.Kubernetes;

/// <summary>The fields of a Node egressd reads: its zone and region labels (in the metadata) and its addresses.</summary>
public sealed class NodeObject : IApiObject
{
    public ApiObjectMeta? Metadata { get; init; }

    public NodeStatus? Status { get; init; }

    public sealed class NodeStatus
    {
        public List<NodeAddress>? Addresses { get; init; }
    }

    public sealed class NodeAddress
    {
        public string? Type { get; init; }

        public string? Address { get; init; }
    }
}
