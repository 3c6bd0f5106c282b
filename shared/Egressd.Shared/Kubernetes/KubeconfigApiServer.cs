using k8s;

namespace Egressd.Shared.Kubernetes;

/// <summary>
/// An <see cref="ApiServer"/> from a kubeconfig, for a service run outside a cluster: the official client parses
/// the file and authenticates (token, client certificate, exec plugin). Kept apart so that a service in a pod
/// never loads the client.
/// </summary>
internal static class KubeconfigApiServer
{
    public static ApiServer Connect(string kubeconfig)
    {
        var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        return new ApiServer(
            client.BaseUri,
            client.HttpClient,
            (request, cancellationToken) => client.Credentials is { } credentials ? credentials.ProcessHttpRequestAsync(request, cancellationToken) : Task.CompletedTask,
            client);
    }
}
