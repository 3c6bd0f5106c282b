using k8s;
using k8s.KubeConfigModels;

namespace Egressd.Shared.Kubernetes;

/// <summary>
/// Reads the kubeconfig at start, before any client is built, and refuses what would weaken the service: building a
/// client runs an <c>exec</c> plugin at once, so the check has to come first.
/// </summary>
internal static class KubeconfigPolicy
{
    public static void Check(KubernetesOptions options, List<string> errors)
    {
        const string Setting = $"{KubernetesOptions.Section}:Kubeconfig";
        K8SConfiguration config;
        try
        {
            config = KubernetesClientConfiguration.LoadKubeConfig(options.Kubeconfig);
        }
        // Whatever the library throws on a bad file, the answer is the same one line at start, not a stack trace later.
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            errors.Add($"{Setting} '{options.Kubeconfig}' cannot be read as a kubeconfig: {FirstLine(e.Message)}");
            return;
        }

        // The client uses the current context and nothing else in the file, so only what it names is checked.
        var context = config.Contexts?.FirstOrDefault(c => c.Name == config.CurrentContext)?.ContextDetails;
        if (context is null)
        {
            errors.Add($"{Setting} '{options.Kubeconfig}' has no context named by current-context ('{config.CurrentContext}')");
            return;
        }

        var cluster = config.Clusters?.FirstOrDefault(c => c.Name == context.Cluster)?.ClusterEndpoint;
        if (cluster is null)
        {
            errors.Add($"{Setting} '{options.Kubeconfig}' has no cluster named '{context.Cluster}' (from context '{config.CurrentContext}')");
        }
        else if (cluster.SkipTlsVerify && !options.AllowInsecureSkipTlsVerify)
        {
            errors.Add($"{Setting} '{options.Kubeconfig}': cluster '{context.Cluster}' sets insecure-skip-tls-verify, so the API server's certificate would not be checked; give its certificate-authority, or set {KubernetesOptions.Section}:AllowInsecureSkipTlsVerify=true to accept that");
        }

        var user = config.Users?.FirstOrDefault(u => u.Name == context.User)?.UserCredentials;
        if (user?.ExternalExecution is { } exec && !options.AllowExecCredentialPlugins)
        {
            errors.Add($"{Setting} '{options.Kubeconfig}': user '{context.User}' gets its credentials from an exec plugin ('{exec.Command}'), which would run with this service's rights; use a token or client certificate, or set {KubernetesOptions.Section}:AllowExecCredentialPlugins=true to accept that");
        }
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
