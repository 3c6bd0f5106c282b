using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;

namespace Egressd.Shared.Kubernetes;

/// <summary>
/// A pod's way into its cluster: the API server's address from the environment Kubernetes sets,
/// and the service account's token and CA bundle from the files the kubelet mounts.
/// </summary>
public sealed class ServiceAccount(string directory, string host, string port)
{
    public const string DefaultDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>The kubelet rewrites bound tokens before they expire (an hour); client-go reads the file again every minute too.</summary>
    private static readonly TimeSpan TokenReread = TimeSpan.FromMinutes(1);

    /// <summary>The pod's service account, or null when the process does not run in a pod.</summary>
    public static ServiceAccount? FromEnvironment(string directory = DefaultDirectory) =>
        Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is { Length: > 0 } host
        && Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT") is { Length: > 0 } port
        && File.Exists(Path.Combine(directory, "token"))
            ? new ServiceAccount(directory, host, port)
            : null;

    public Uri Server => new UriBuilder(Uri.UriSchemeHttps, host, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture)).Uri;

    /// <summary>An API connection that trusts only the service account's CA bundle and sends its current token.</summary>
    public ApiServer Connect(TimeProvider time)
    {
        var caFile = Path.Combine(directory, "ca.crt");
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(caFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"cannot read the service account's CA bundle {caFile}: {e.Message}", e);
        }

        if (authorities.Count == 0)
        {
            throw new InvalidOperationException($"the service account's CA bundle {caFile} holds no certificate");
        }

        var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2) };
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            // The cluster's own CA; it publishes no revocation lists.
            RevocationMode = X509RevocationMode.NoCheck,
        };
        handler.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(authorities);
        var token = new TokenFile(Path.Combine(directory, "token"), time);
        return new ApiServer(Server, new HttpClient(handler), (request, _) =>
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Current());
            return Task.CompletedTask;
        });
    }

    /// <summary>The token, read again once it is a minute old; a failed read keeps the last one.</summary>
    private sealed class TokenFile(string path, TimeProvider time)
    {
        private readonly Lock gate = new();
        private string token = "";
        private long readAt;

        public string Current()
        {
            lock (gate)
            {
                if (token.Length == 0 || time.GetElapsedTime(readAt) >= TokenReread)
                {
                    try
                    {
                        token = File.ReadAllText(path).Trim();
                        readAt = time.GetTimestamp();
                    }
                    catch (IOException) when (token.Length > 0)
                    {
                        // Mid-rotation; the old token is still valid for a while.
                    }
                }

                return token;
            }
        }
    }
}
