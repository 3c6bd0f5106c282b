namespace Egressd.Shared.Kubernetes;

/// <summary>The fields of a Node egressd reads: its labels (zone, region; in the metadata), its provider id and its addresses.</summary>
public sealed class NodeObject : IApiObject
{
    public ApiObjectMeta? Metadata { get; init; }

    public NodeSpec? Spec { get; init; }

    public NodeStatus? Status { get; init; }

    public sealed class NodeSpec
    {
        /// <summary>The cloud's id of the machine (<c>aws:///us-east-1a/i-0abc</c>): which price list its traffic pays.</summary>
        [System.Text.Json.Serialization.JsonPropertyName("providerID")]
        public string? ProviderId { get; init; }
    }

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
