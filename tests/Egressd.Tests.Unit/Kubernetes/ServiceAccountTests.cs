using System.Security.Authentication;
using Egressd.Collector.Pods;
using Egressd.Shared.Kubernetes;
using Egressd.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Egressd.Tests.Kubernetes;

/// <summary>
/// A pod's way to the API server, as the collector uses it in a cluster: TLS trusting only the
/// service account's CA bundle, and its token, read again as the kubelet rotates it. Against the
/// fake API server over real TLS.
/// </summary>
public sealed class ServiceAccountTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string directory = Directory.CreateTempSubdirectory("egressd-sa-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Lists_and_watches_over_tls_with_the_token_it_reads_again_after_a_minute()
    {
        await using var api = await FakeKubernetesApi.StartAsync(https: true);
        api.Apply(FakeKubernetesApi.Pod("shop", "web", "node-a", ["10.244.1.10"]));
        api.Apply(FakeKubernetesApi.Pod("shop", "db", "node-b", ["10.244.2.20"]));
        WriteAccount(api.CertificatePem, "first-token");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = new ServiceAccount(directory, "127.0.0.1", api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)).Connect(clock);
        var pods = new ApiServerSource<PodObject>(server, "api/v1/pods", "spec.nodeName=node-a", ApiJsonContext.Default.ApiListPodObject, ApiJsonContext.Default.PodObject);

        var page = await pods.ListAsync(null, 500, TestContext.Current.CancellationToken);
        var web = Assert.Single(page.Items);
        Assert.Equal("shop/web", pods.Key(web));
        Assert.Equal("node-a", web.Spec?.NodeName);
        Assert.Equal("10.244.1.10", Assert.Single(web.Status!.PodIPs!).Ip);
        Assert.False(string.IsNullOrEmpty(page.ResourceVersion));
        Assert.Equal("Bearer first-token", api.Authorizations.Last());

        // The kubelet rewrites the file; within the minute the old token is still sent, after it the new one.
        await File.WriteAllTextAsync(Path.Combine(directory, "token"), "second-token\n", TestContext.Current.CancellationToken);
        await pods.ListAsync(null, 500, TestContext.Current.CancellationToken);
        Assert.Equal("Bearer first-token", api.Authorizations.Last());
        clock.Advance(TimeSpan.FromSeconds(61));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        stop.CancelAfter(Patience);
        await using var events = pods.WatchAsync(page.ResourceVersion!, stop.Token).GetAsyncEnumerator(stop.Token);
        api.Apply(FakeKubernetesApi.Pod("shop", "new", "node-a", ["10.244.1.11", "fd00::b"]));
        ResourceEvent<PodObject> added;
        do
        {
            Assert.True(await events.MoveNextAsync());
            added = events.Current;
        }
        while (added.Type == ResourceEventType.Bookmark);

        Assert.Equal(ResourceEventType.Added, added.Type);
        Assert.Equal("shop/new", pods.Key(added.Item!));
        Assert.Equal(["10.244.1.11", "fd00::b"], added.Item!.Status!.PodIPs!.Select(p => p.Ip));
        Assert.Equal(added.Item.Metadata!.ResourceVersion, added.ResourceVersion);
        Assert.Equal("Bearer second-token", api.Authorizations.Last());
    }

    [Fact]
    public async Task A_server_whose_certificate_the_bundle_does_not_vouch_for_is_refused()
    {
        await using var api = await FakeKubernetesApi.StartAsync(https: true);
        using var stranger = FakeKubernetesApi.SelfSigned();
        WriteAccount(stranger.ExportCertificatePem(), "token");
        using var server = new ServiceAccount(directory, "127.0.0.1", api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)).Connect(TimeProvider.System);
        var pods = new ApiServerSource<PodObject>(server, "api/v1/pods", null, ApiJsonContext.Default.ApiListPodObject, ApiJsonContext.Default.PodObject);

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => pods.ListAsync(null, 500, TestContext.Current.CancellationToken));
        Assert.IsType<AuthenticationException>(refused.InnerException);
        Assert.Empty(api.Authorizations);
    }

    [Theory]
    [InlineData("10.96.0.1", "443", "https://10.96.0.1/")]
    [InlineData("fd00:10:96::1", "6443", "https://[fd00:10:96::1]:6443/")]
    public void The_server_is_the_address_kubernetes_puts_in_the_environment(string host, string port, string expected)
    {
        Assert.Equal(expected, new ServiceAccount(directory, host, port).Server.AbsoluteUri);
    }

    [Fact]
    public void A_missing_or_empty_ca_bundle_is_named_at_connect()
    {
        File.WriteAllText(Path.Combine(directory, "token"), "token");
        var account = new ServiceAccount(directory, "127.0.0.1", "6443");
        var missing = Assert.Throws<InvalidOperationException>(() => account.Connect(TimeProvider.System));
        Assert.Contains(Path.Combine(directory, "ca.crt"), missing.Message, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(directory, "ca.crt"), "not a certificate\n");
        var empty = Assert.Throws<InvalidOperationException>(() => account.Connect(TimeProvider.System));
        Assert.Contains("holds no certificate", empty.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_api_servers_refusal_is_reported_with_its_own_message()
    {
        await using var api = await FakeKubernetesApi.StartAsync(https: true);
        WriteAccount(api.CertificatePem, "token");
        using var server = new ServiceAccount(directory, "127.0.0.1", api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)).Connect(TimeProvider.System);
        // The fake serves no such collection: a 404 from the real server, without a Status body.
        var pods = new ApiServerSource<PodObject>(server, "api/v1/secrets", null, ApiJsonContext.Default.ApiListPodObject, ApiJsonContext.Default.PodObject);

        var refused = await Assert.ThrowsAsync<ApiServerException>(() => pods.ListAsync(null, 500, TestContext.Current.CancellationToken));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, refused.Status);
        Assert.Contains("/api/v1/secrets", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_collectors_local_pods_sync_through_the_service_account()
    {
        await using var api = await FakeKubernetesApi.StartAsync(https: true);
        api.Apply(FakeKubernetesApi.Pod("shop", "web", "node-a", ["10.244.1.10"]));
        WriteAccount(api.CertificatePem, "token");
        var account = new ServiceAccount(directory, "127.0.0.1", api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var pods = new KubernetesLocalPods("node-a", [], new KubernetesOptions(), TimeProvider.System, NullLogger.Instance, TestMetrics.Kubernetes(), account);
        using var stop = new CancellationTokenSource();
        var running = pods.RunAsync(stop.Token);

        await pods.WaitUntilReadyAsync(TestContext.Current.CancellationToken).WaitAsync(Patience, TestContext.Current.CancellationToken);
        Assert.True(pods.Contains(Egressd.Contracts.IpAddr.Parse("10.244.1.10")));
        Assert.StartsWith("Bearer ", api.Authorizations.First(), StringComparison.Ordinal);
        await stop.CancelAsync();
        await running.WaitAsync(Patience, TestContext.Current.CancellationToken);
    }

    private void WriteAccount(string caPem, string token)
    {
        File.WriteAllText(Path.Combine(directory, "ca.crt"), caPem);
        File.WriteAllText(Path.Combine(directory, "token"), token);
        File.WriteAllText(Path.Combine(directory, "namespace"), "egressd");
    }
}
