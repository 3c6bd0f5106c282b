using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Egressd.Shared.Kubernetes;

/// <summary>
/// Authenticated GETs to the Kubernetes API server, read with compile-time JSON metadata into
/// classes that hold only what egressd uses. The official client's typed models and its setup
/// cost the collector a large share of its memory budget for one watch of its node's pods;
/// it is used only to read a kubeconfig (<see cref="KubeconfigApiServer"/>).
/// </summary>
public sealed class ApiServer : IDisposable
{
    /// <summary>A list request that takes longer has hung (the official client's own default).</summary>
    private static readonly TimeSpan ListTimeout = TimeSpan.FromSeconds(100);

    private readonly HttpClient http;
    private readonly Func<HttpRequestMessage, CancellationToken, Task> authorize;
    private readonly IDisposable? owner;

    /// <param name="authorize">Adds the credentials to each request.</param>
    /// <param name="owner">Disposed with this (whatever made <paramref name="http"/>).</param>
    public ApiServer(Uri baseUri, HttpClient http, Func<HttpRequestMessage, CancellationToken, Task> authorize, IDisposable? owner = null)
    {
        BaseUri = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
        this.http = http;
        this.authorize = authorize;
        this.owner = owner;
        // Watches stay open for minutes; the reflector's watchdog, not the client, ends a silent one.
        http.Timeout = Timeout.InfiniteTimeSpan;
    }

    public Uri BaseUri { get; }

    /// <summary>
    /// Inside a pod, the pod's service account (or <paramref name="account"/>); with <see cref="KubernetesOptions.Kubeconfig"/>
    /// set, that kubeconfig (through the official client, which knows every way a kubeconfig authenticates).
    /// </summary>
    public static ApiServer Connect(KubernetesOptions options, TimeProvider time, ServiceAccount? account = null) =>
        string.IsNullOrWhiteSpace(options.Kubeconfig)
            ? (account ?? ServiceAccount.FromEnvironment() ?? throw new InvalidOperationException(
                $"not in a Kubernetes pod (no KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT or {ServiceAccount.DefaultDirectory}/token) and {KubernetesOptions.Section}:Kubeconfig is not set")).Connect(time)
            : KubeconfigApiServer.Connect(options.Kubeconfig);

    /// <summary>GETs <paramref name="pathAndQuery"/> (relative to the server) and reads the body as <typeparamref name="T"/>.</summary>
    public async Task<T> GetAsync<T>(string pathAndQuery, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ListTimeout);
        using var response = await SendAsync(pathAndQuery, timeout.Token);
        await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
        return await JsonSerializer.DeserializeAsync(body, type, timeout.Token)
            ?? throw new ApiServerException(response.StatusCode, $"GET {pathAndQuery} answered with an empty body");
    }

    /// <summary>GETs <paramref name="pathAndQuery"/> and hands over the open response (a watch stream); the caller disposes it.</summary>
    public Task<HttpResponseMessage> OpenAsync(string pathAndQuery, CancellationToken cancellationToken) => SendAsync(pathAndQuery, cancellationToken);

    public void Dispose()
    {
        if (owner is null)
        {
            http.Dispose();
        }
        else
        {
            owner.Dispose();
        }
    }

    private async Task<HttpResponseMessage> SendAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseUri, pathAndQuery));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        await authorize(request, cancellationToken);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var message = StatusMessage(text) ?? (text.Length > 200 ? text[..200] : text);
            throw response.StatusCode == HttpStatusCode.Gone
                ? new ResourceExpiredException(message)
                : new ApiServerException(response.StatusCode, $"GET {request.RequestUri!.AbsolutePath}: {message}");
        }
    }

    private static string? StatusMessage(string text)
    {
        try
        {
            return JsonSerializer.Deserialize(text, ApiJsonContext.Default.ApiStatus)?.Message;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
