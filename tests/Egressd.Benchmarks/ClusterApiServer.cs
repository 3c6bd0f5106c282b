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
/// An API server over TLS, as in a cluster, for the services run as in a pod: pods, nodes,
/// services, ReplicaSets and Jobs, each listed (pods also by <c>spec.nodeName</c>) and then
/// watched, with a bookmark every few seconds and no changes. Objects carry the fields a real API
/// server sends, not just those egressd reads, so reading them costs what it costs in a cluster.
/// The cluster is the pipeline's inventory: pod <c>i</c> is <c>team-(i%40)/app-(i/4)-(i%4)</c> on
/// <c>node-(i%nodes)</c>, owned by a ReplicaSet (one per pod, in its namespace) of Deployment <c>app-(i/4)</c>. Writes the service
/// account's files (CA bundle and token) that a pod would have mounted, for <see cref="ServiceLauncher"/>.
/// </summary>
internal sealed class ClusterApiServer : IAsyncDisposable
{
    private const string ResourceVersion = "1000";
    private readonly WebApplication app;
    private readonly X509Certificate2 certificate;
    private int requests;
    private long resourceVersion = long.Parse(ResourceVersion, System.Globalization.CultureInfo.InvariantCulture);
    private int churnPerSecond;
    private long churned;
    private int pods;
    private int nodes;

    private ClusterApiServer(WebApplication app, X509Certificate2 certificate, string serviceAccount)
    {
        this.app = app;
        this.certificate = certificate;
        ServiceAccount = serviceAccount;
    }

    /// <summary>A directory holding ca.crt, token and namespace, as the kubelet mounts them.</summary>
    public string ServiceAccount { get; }

    public int Port { get; private set; }

    /// <summary>Lists and watches served, to tell that the services used the API.</summary>
    public int Requests => Volatile.Read(ref requests);

    /// <summary>Pod events (creations and deletions) sent on pod watches so far, all watches together.</summary>
    public long Churned => Interlocked.Read(ref churned);

    public static async Task<ClusterApiServer> StartAsync(string directory, int pods, int nodes, int services = 200, int churnPerSecond = 0)
    {
        var certificate = SelfSigned();
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "ca.crt"), certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(directory, "token"), "benchmark-token");
        await File.WriteAllTextAsync(Path.Combine(directory, "namespace"), "egressd");
        var podObjects = Enumerable.Range(0, pods).Select(i => Pod(i, nodes)).ToArray();
        var lists = new Dictionary<string, (string Kind, JsonObject[] Items)>
        {
            ["/api/v1/pods"] = ("Pod", podObjects),
            ["/api/v1/nodes"] = ("Node", [.. Enumerable.Range(0, nodes).Select(Node)]),
            ["/api/v1/services"] = ("Service", [.. Enumerable.Range(0, services).Select(Service)]),
            ["/apis/apps/v1/replicasets"] = ("ReplicaSet", [.. Enumerable.Range(0, pods).Select(ReplicaSet)]),
            ["/apis/batch/v1/jobs"] = ("Job", []),
        };

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromMilliseconds(500));
        var app = builder.Build();
        var server = new ClusterApiServer(app, certificate, directory) { churnPerSecond = churnPerSecond, pods = pods, nodes = nodes };
        foreach (var (path, (kind, items)) in lists)
        {
            app.MapGet(path, context => server.ServeAsync(context, kind, items));
        }

        await app.StartAsync();
        server.Port = new Uri(app.Urls.First()).Port;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        certificate.Dispose();
    }

    private async Task ServeAsync(HttpContext context, string kind, JsonObject[] items)
    {
        Interlocked.Increment(ref requests);
        context.Response.ContentType = "application/json";
        if (context.Request.Query["watch"] != "true")
        {
            var selector = context.Request.Query["fieldSelector"].ToString();
            var node = selector.StartsWith("spec.nodeName=", StringComparison.Ordinal) ? selector["spec.nodeName=".Length..] : null;
            // Written item by item: a list of 150,000 pods copied into one document first would
            // cost the API server more than it costs the service reading it.
            var version = Interlocked.Read(ref resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await context.Response.WriteAsync($"{{\"kind\":\"{kind}List\",\"apiVersion\":\"v1\",\"metadata\":{{\"resourceVersion\":\"{version}\"}},\"items\":[", context.RequestAborted);
            var first = true;
            foreach (var item in items.Where(o => node is null || o["spec"]?["nodeName"]?.GetValue<string>() == node))
            {
                await context.Response.WriteAsync((first ? "" : ",") + item.ToJsonString(), context.RequestAborted);
                first = false;
            }

            await context.Response.WriteAsync("]}", context.RequestAborted);
            return;
        }

        try
        {
            var churn = kind == "Pod" && churnPerSecond > 0 && !context.Request.Query.ContainsKey("fieldSelector");
            var nextBookmark = DateTime.UtcNow;
            var generation = 0;
            while (!context.RequestAborted.IsCancellationRequested)
            {
                if (DateTime.UtcNow >= nextBookmark)
                {
                    var version = Interlocked.Read(ref resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    var bookmark = new JsonObject { ["type"] = "BOOKMARK", ["object"] = new JsonObject { ["kind"] = kind, ["apiVersion"] = "v1", ["metadata"] = new JsonObject { ["resourceVersion"] = version } } };
                    await context.Response.WriteAsync(bookmark.ToJsonString() + "\n", context.RequestAborted);
                    nextBookmark = DateTime.UtcNow.AddSeconds(5);
                }

                if (churn)
                {
                    // A tenth of a second's churn: pods replaced (deleted, then created again under a
                    // new name with the same address, as a ReplicaSet replaces one), at random.
                    for (var i = 0; i < Math.Max(1, churnPerSecond / 10); i++)
                    {
                        generation++;
                        var pod = Random.Shared.Next(pods);
                        var gone = Pod(pod, nodes);
                        gone["metadata"]!["resourceVersion"] = Interlocked.Increment(ref resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
                        var born = Pod(pod, nodes);
                        born["metadata"]!["name"] = $"{born["metadata"]!["name"]}-r{generation}";
                        born["metadata"]!["resourceVersion"] = Interlocked.Increment(ref resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
                        await context.Response.WriteAsync(new JsonObject { ["type"] = "DELETED", ["object"] = gone }.ToJsonString() + "\n", context.RequestAborted);
                        await context.Response.WriteAsync(new JsonObject { ["type"] = "ADDED", ["object"] = born }.ToJsonString() + "\n", context.RequestAborted);
                        Interlocked.Add(ref churned, 2);
                    }
                }

                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(churn ? TimeSpan.FromMilliseconds(100) : nextBookmark - DateTime.UtcNow is { Ticks: > 0 } wait ? wait : TimeSpan.Zero, context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
            // The service stopped.
        }
    }

    private static JsonObject Metadata(string name, string? ns, params (string Kind, string Name)[] owners) => new()
    {
        ["name"] = name,
        ["namespace"] = ns,
        ["uid"] = Guid.NewGuid().ToString(),
        ["resourceVersion"] = ResourceVersion,
        ["creationTimestamp"] = "2026-11-01T00:00:00Z",
        ["labels"] = new JsonObject { ["app"] = name, ["pod-template-hash"] = "5d8f7c9b4" },
        ["ownerReferences"] = new JsonArray([.. owners.Select(o => (JsonNode)new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = o.Kind,
            ["name"] = o.Name,
            ["uid"] = Guid.NewGuid().ToString(),
            ["controller"] = true,
            ["blockOwnerDeletion"] = true,
        })]),
        ["managedFields"] = new JsonArray(new JsonObject { ["manager"] = "kube-controller-manager", ["operation"] = "Update", ["apiVersion"] = "v1", ["time"] = "2026-11-01T00:00:00Z" }),
    };

    private static JsonObject Pod(int i, int nodes) => new()
    {
        ["metadata"] = Metadata($"app-{i / 4}-{i % 4}", $"team-{i % 40}", ("ReplicaSet", $"app-{i / 4}-5d8f7c9b4")),
        ["spec"] = new JsonObject
        {
            ["nodeName"] = $"node-{i % nodes}",
            ["serviceAccountName"] = "default",
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "app",
                ["image"] = "app:1.0",
                ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 8080, ["protocol"] = "TCP" }),
                ["env"] = new JsonArray(new JsonObject { ["name"] = "LOG_LEVEL", ["value"] = "info" }),
                ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = "100m", ["memory"] = "128Mi" } },
                ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "kube-api-access", ["mountPath"] = "/var/run/secrets/kubernetes.io/serviceaccount", ["readOnly"] = true }),
            }),
            ["volumes"] = new JsonArray(new JsonObject { ["name"] = "kube-api-access", ["projected"] = new JsonObject { ["defaultMode"] = 420 } }),
            ["tolerations"] = new JsonArray(new JsonObject { ["key"] = "node.kubernetes.io/not-ready", ["operator"] = "Exists", ["effect"] = "NoExecute", ["tolerationSeconds"] = 300 }),
        },
        ["status"] = new JsonObject
        {
            ["phase"] = "Running",
            ["hostIP"] = $"10.0.{i % nodes / 250}.{i % nodes % 250}",
            ["podIP"] = ReplayRecording.PodIp(i),
            ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = ReplayRecording.PodIp(i) }),
            ["startTime"] = "2026-11-01T00:00:00Z",
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True", ["lastTransitionTime"] = "2026-11-01T00:00:00Z" }),
            ["containerStatuses"] = new JsonArray(new JsonObject { ["name"] = "app", ["ready"] = true, ["restartCount"] = 0, ["image"] = "app:1.0", ["imageID"] = "sha256:0000", ["started"] = true }),
        },
    };

    private static JsonObject Node(int n)
    {
        var metadata = Metadata($"node-{n}", null);
        metadata["labels"] = new JsonObject
        {
            ["topology.kubernetes.io/zone"] = $"zone-{n % 3}",
            ["topology.kubernetes.io/region"] = n % 10 == 0 ? "region-2" : "region-1",
            ["kubernetes.io/hostname"] = $"node-{n}",
        };
        return new JsonObject
        {
            ["metadata"] = metadata,
            ["spec"] = new JsonObject { ["podCIDR"] = $"10.244.{n}.0/24", ["providerID"] = $"bench://node-{n}" },
            ["status"] = new JsonObject
            {
                ["addresses"] = new JsonArray(
                    new JsonObject { ["type"] = "InternalIP", ["address"] = $"10.0.{n / 250}.{n % 250}" },
                    new JsonObject { ["type"] = "Hostname", ["address"] = $"node-{n}" }),
                ["capacity"] = new JsonObject { ["cpu"] = "8", ["memory"] = "32Gi", ["pods"] = "110" },
                ["nodeInfo"] = new JsonObject { ["kubeletVersion"] = "v1.34.0", ["osImage"] = "Debian GNU/Linux 12", ["architecture"] = "amd64" },
            },
        };
    }

    private static JsonObject Service(int s) => new()
    {
        ["metadata"] = Metadata($"svc-{s}", $"team-{s % 40}"),
        ["spec"] = new JsonObject
        {
            ["type"] = "ClusterIP",
            ["clusterIP"] = $"10.96.{s / 250}.{s % 250}",
            ["clusterIPs"] = new JsonArray($"10.96.{s / 250}.{s % 250}"),
            ["ports"] = new JsonArray(new JsonObject { ["port"] = 80, ["targetPort"] = 8080, ["protocol"] = "TCP" }),
            ["selector"] = new JsonObject { ["app"] = $"app-{s}" },
        },
    };

    /// <summary>Pod <paramref name="i"/>'s ReplicaSet, in its namespace.</summary>
    private static JsonObject ReplicaSet(int i) => new()
    {
        ["metadata"] = Metadata($"app-{i / 4}-5d8f7c9b4", $"team-{i % 40}", ("Deployment", $"app-{i / 4}")),
        ["spec"] = new JsonObject { ["replicas"] = 4 },
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
