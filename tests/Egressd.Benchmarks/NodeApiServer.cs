using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Egressd.Benchmarks;

/// <summary>
/// An API server for one node's pod watch, over TLS as in a cluster: a list of the node's pods,
/// then watches that send a bookmark every few seconds. Writes the service account's files (CA
/// bundle and token) that a pod would have mounted, for <see cref="ServiceLauncher"/> to give the
/// collector.
/// </summary>
internal sealed class NodeApiServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly X509Certificate2 certificate;

    private NodeApiServer(WebApplication app, X509Certificate2 certificate, string serviceAccount, int port)
    {
        this.app = app;
        this.certificate = certificate;
        ServiceAccount = serviceAccount;
        Port = port;
    }

    /// <summary>A directory holding ca.crt, token and namespace, as the kubelet mounts them.</summary>
    public string ServiceAccount { get; }

    public int Port { get; }

    /// <summary>Requests served (lists and watches), to tell that the collector used the API.</summary>
    public int Requests { get; private set; }

    public static async Task<NodeApiServer> StartAsync(string node, int pods, string directory)
    {
        var certificate = SelfSigned();
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "ca.crt"), certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(directory, "token"), "benchmark-token");
        await File.WriteAllTextAsync(Path.Combine(directory, "namespace"), "egressd");
        var list = new JsonObject
        {
            ["kind"] = "PodList",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = "1000" },
            ["items"] = new JsonArray([.. Enumerable.Range(0, pods).Select(i => (JsonNode)Pod(node, i))]),
        }.ToJsonString();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromMilliseconds(500));
        var app = builder.Build();
        NodeApiServer? server = null;
        app.MapGet("/api/v1/pods", async context =>
        {
            server!.Requests++;
            context.Response.ContentType = "application/json";
            if (context.Request.Query["watch"] != "true")
            {
                await context.Response.WriteAsync(list, context.RequestAborted);
                return;
            }

            try
            {
                while (!context.RequestAborted.IsCancellationRequested)
                {
                    await context.Response.WriteAsync("""{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"1000"}}}""" + "\n", context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                    await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
                // The collector stopped.
            }
        });
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        server = new NodeApiServer(app, certificate, directory, port);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        certificate.Dispose();
    }

    /// <summary>A pod as the API server sends it, with the spec and status a real one carries, not just what the collector reads.</summary>
    private static JsonObject Pod(string node, int i) => new()
    {
        ["metadata"] = new JsonObject
        {
            ["name"] = $"web-{i}",
            ["namespace"] = $"team-{i % 20}",
            ["uid"] = Guid.NewGuid().ToString(),
            ["resourceVersion"] = "1000",
            ["labels"] = new JsonObject { ["app"] = $"web-{i % 20}", ["pod-template-hash"] = "5d8f7c9b4" },
            ["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "ReplicaSet", ["name"] = $"web-{i % 20}-5d8f7c9b4", ["controller"] = true }),
        },
        ["spec"] = new JsonObject
        {
            ["nodeName"] = node,
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "app",
                ["image"] = "app:1.0",
                ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 8080, ["protocol"] = "TCP" }),
                ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = "100m", ["memory"] = "128Mi" } },
            }),
            ["volumes"] = new JsonArray(new JsonObject { ["name"] = "kube-api-access", ["projected"] = new JsonObject { ["defaultMode"] = 420 } }),
        },
        ["status"] = new JsonObject
        {
            ["phase"] = "Running",
            ["podIP"] = $"10.244.{i / 250}.{(i % 250) + 1}",
            ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = $"10.244.{i / 250}.{(i % 250) + 1}" }),
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
        },
    };

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kube-apiserver", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
