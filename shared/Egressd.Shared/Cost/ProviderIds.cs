namespace Egressd.Shared.Cost;

/// <summary>
/// Reads a node's <c>spec.providerID</c>: <c>aws:///us-east-1a/i-0abc</c>,
/// <c>gce://project/us-central1-a/name</c>, <c>azure:///subscriptions/...</c>.
/// </summary>
public static class ProviderIds
{
    public static CloudProvider Provider(string? providerId) => Scheme(providerId) switch
    {
        "aws" => CloudProvider.Aws,
        "gce" => CloudProvider.Gcp,
        "azure" => CloudProvider.Azure,
        _ => CloudProvider.Unknown,
    };

    /// <summary>The zone AWS and GCE ids carry (for nodes without a zone label); null for the others.</summary>
    public static string? Zone(string? providerId)
    {
        if (providerId is null || Provider(providerId) is not (CloudProvider.Aws or CloudProvider.Gcp))
        {
            return null;
        }

        // aws:///ZONE/INSTANCE and gce://PROJECT/ZONE/NAME: the zone is the second-to-last segment.
        var path = providerId[(providerId.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var segments = path.Split('/');
        return segments.Length >= 2 && segments[^2].Length > 0 ? segments[^2] : null;
    }

    private static string? Scheme(string? providerId)
    {
        var end = providerId?.IndexOf("://", StringComparison.Ordinal) ?? -1;
        return end > 0 ? providerId![..end].ToLowerInvariant() : null;
    }
}
