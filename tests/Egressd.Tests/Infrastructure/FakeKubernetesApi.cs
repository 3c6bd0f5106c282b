using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// An in-process Kubernetes API server that speaks the real list/watch protocol to the real
/// KubernetesClient: JSON lists with resourceVersion and continue tokens, chunked watch streams
/// from a resourceVersion, bookmarks, 410 Gone for compacted history, and the failures the
/// reflector must survive (dropped connections, stalled streams, restarts on the same port).
/// Serves pods (with the spec.nodeName field selector), nodes, services, ReplicaSets and Jobs.
/// </summary>
internal sealed class FakeKubernetesApi : IAsyncDisposable
{
    private static readonly Dictionary<string, (string Kind, string ListKind, string ApiVersion)> Resources = new()
    {
        ["/api/v1/pods"] = ("Pod", "PodList", "v1"),
        ["/api/v1/nodes"] = ("Node", "NodeList", "v1"),
        ["/api/v1/services"] = ("Service", "ServiceList", "v1"),
        ["/apis/apps/v1/replicasets"] = ("ReplicaSet", "ReplicaSetList", "apps/v1"),
        ["/apis/batch/v1/jobs"] = ("Job", "JobList", "batch/v1"),
    };

    private readonly Lock gate = new();
    private readonly Dictionary<(string Kind, string Key), JsonObject> objects = [];
    private readonly List<(long Version, string Kind, string Type, JsonObject Object)> history = [];
    private readonly List<Watch> watches = [];
    private long version = 1000;
    private long compactedThrough;
    private WebApplication? app;

    private readonly X509Certificate2? certificate;

    private FakeKubernetesApi(int port, X509Certificate2? certificate)
    {
        Port = port;
        this.certificate = certificate;
    }

    public int Port { get; }

    /// <summary>With <c>https</c>: the server's self-signed certificate (for 127.0.0.1), as PEM, to trust as a CA.</summary>
    public string CertificatePem => certificate?.ExportCertificatePem() ?? throw new InvalidOperationException("started without https");

    /// <summary>Every request's Authorization header, in order ("" when it had none).</summary>
    public ConcurrentQueue<string> Authorizations { get; } = new();

    public string Kubeconfig { get; private set; } = "";

    /// <summary>How often open watches get a bookmark.</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Watch requests served so far (a reconnect is a new one).</summary>
    public int WatchRequests { get; private set; }

    /// <summary>List requests served so far (pages included).</summary>
    public int ListRequests { get; private set; }

    /// <param name="https">Serve TLS with a fresh self-signed certificate, as a real API server does (<see cref="CertificatePem"/>).</param>
    public static async Task<FakeKubernetesApi> StartAsync(bool https = false)
    {
        var api = new FakeKubernetesApi(FreePort.Next(), https ? SelfSigned() : null);
        await api.StartServerAsync();
        api.Kubeconfig = Path.Combine(Path.GetTempPath(), $"egressd-kubeconfig-{api.Port}.yaml");
        await File.WriteAllTextAsync(api.Kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {(https ? "https" : "http")}://127.0.0.1:{api.Port}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: fake
            current-context: fake
            users:
            - name: fake
              user:
                token: fake-token
            """);
        return api;
    }

    /// <summary>A certificate for 127.0.0.1 signed by itself: a CA of its own, as a cluster's is.</summary>
    public static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kube-apiserver", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Kestrel needs the key in a form the platform's TLS can use: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    /// <summary>Creates or replaces an object; open watches see ADDED or MODIFIED.</summary>
    public void Apply<T>(T item)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var node = (JsonObject)JsonNode.Parse(KubernetesJson.Serialize(item))!;
        var kind = item.Kind ?? throw new ArgumentException("set Kind");
        lock (gate)
        {
            var key = Key(node);
            var type = objects.ContainsKey((kind, key)) ? "MODIFIED" : "ADDED";
            Record(kind, key, type, node);
        }
    }

    /// <summary>Deletes an object; open watches see DELETED.</summary>
    public void Delete(string kind, string? ns, string name)
    {
        lock (gate)
        {
            var key = ns is null ? name : $"{ns}/{name}";
            if (objects.TryGetValue((kind, key), out var node))
            {
                Record(kind, key, "DELETED", (JsonObject)node.DeepClone());
            }
        }
    }

    /// <summary>
    /// Changes made while every client is disconnected, with the history compacted past them: a
    /// client that comes back with its old resourceVersion gets 410 Gone and must relist.
    /// </summary>
    public void ChangeInAGap(Action<FakeKubernetesApi> changes)
    {
        lock (gate)
        {
            foreach (var watch in watches)
            {
                watch.Context.Abort();
            }

            watches.Clear();
            changes(this);
            compactedThrough = version;
            history.Clear();
        }
    }

    /// <summary>Breaks every open watch connection, as a load balancer that drops idle streams.</summary>
    public void DropWatches()
    {
        lock (gate)
        {
            foreach (var watch in watches)
            {
                watch.Context.Abort();
            }

            watches.Clear();
        }
    }

    /// <summary>Open watches go silent (no events, no bookmarks) but stay connected; new ones work.</summary>
    public void StallWatches()
    {
        lock (gate)
        {
            foreach (var watch in watches)
            {
                watch.Stalled = true;
            }
        }
    }

    /// <summary>Stops the server and starts it again on the same port, with the same objects and history.</summary>
    public async Task RestartAsync()
    {
        await StopServerAsync();
        await StartServerAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopServerAsync();
        File.Delete(Kubeconfig);
        certificate?.Dispose();
    }

    public static V1Pod Pod(string ns, string name, string? node, string[] ips, string? ownerKind = null, string? ownerName = null, bool hostNetwork = false, DateTime? created = null) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Uid = Guid.NewGuid().ToString(),
            CreationTimestamp = created ?? DateTime.UtcNow,
            OwnerReferences = ownerKind is null ? null : [new V1OwnerReference { ApiVersion = "apps/v1", Kind = ownerKind, Name = ownerName, Controller = true, Uid = Guid.NewGuid().ToString() }],
        },
        Spec = new V1PodSpec { NodeName = node, HostNetwork = hostNetwork, Containers = [new V1Container { Name = "app", Image = "app" }] },
        Status = new V1PodStatus { PodIP = ips.FirstOrDefault(), PodIPs = [.. ips.Select(ip => new V1PodIP { Ip = ip })], Phase = "Running" },
    };

    public static V1Node Node(string name, string? zone, string? region, string internalIp, bool legacyLabels = false, string? providerId = null, string? externalIp = null, IDictionary<string, string>? labels = null) => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Uid = Guid.NewGuid().ToString(),
            Labels = new Dictionary<string, string>
            {
                [legacyLabels ? "failure-domain.beta.kubernetes.io/zone" : "topology.kubernetes.io/zone"] = zone ?? "",
                [legacyLabels ? "failure-domain.beta.kubernetes.io/region" : "topology.kubernetes.io/region"] = region ?? "",
            }.Where(l => l.Value.Length > 0).Concat(labels ?? new Dictionary<string, string>()).ToDictionary(),
        },
        Spec = providerId is null ? null : new V1NodeSpec { ProviderID = providerId },
        Status = new V1NodeStatus
        {
            Addresses =
            [
                new V1NodeAddress { Type = "InternalIP", Address = internalIp },
                .. externalIp is null ? Array.Empty<V1NodeAddress>() : [new V1NodeAddress { Type = "ExternalIP", Address = externalIp }],
                new V1NodeAddress { Type = "Hostname", Address = name },
            ],
        },
    };

    public static V1Service Service(string ns, string name, params string[] clusterIps) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Uid = Guid.NewGuid().ToString() },
        Spec = new V1ServiceSpec { ClusterIP = clusterIps.FirstOrDefault(), ClusterIPs = clusterIps },
    };

    public static V1ReplicaSet ReplicaSet(string ns, string name, string deployment) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "ReplicaSet",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Uid = Guid.NewGuid().ToString(),
            OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = deployment, Controller = true, Uid = Guid.NewGuid().ToString() }],
        },
    };

    public static V1Job Job(string ns, string name, string? cronJob) => new()
    {
        ApiVersion = "batch/v1",
        Kind = "Job",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Uid = Guid.NewGuid().ToString(),
            OwnerReferences = cronJob is null ? null : [new V1OwnerReference { ApiVersion = "batch/v1", Kind = "CronJob", Name = cronJob, Controller = true, Uid = Guid.NewGuid().ToString() }],
        },
    };

    private void Record(string kind, string key, string type, JsonObject node)
    {
        var rv = ++version;
        node["metadata"]!["resourceVersion"] = rv.ToString();
        if (type == "DELETED")
        {
            objects.Remove((kind, key));
        }
        else
        {
            objects[(kind, key)] = node;
        }

        history.Add((rv, kind, type, node));
        foreach (var watch in watches.Where(w => w.Kind == kind && w.Matches(node)))
        {
            watch.Events.Writer.TryWrite(Event(type, node));
        }
    }

    private async Task StartServerAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, Port, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        // Watch streams never end by themselves: a restart must not wait for them.
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromMilliseconds(500));
        app = builder.Build();
        foreach (var (path, resource) in Resources)
        {
            app.MapGet(path, context => Serve(context, resource.Kind, resource.ListKind, resource.ApiVersion));
        }

        await app.StartAsync();
    }

    private async Task StopServerAsync()
    {
        if (app is null)
        {
            return;
        }

        DropWatches();
        await app.StopAsync();
        await app.DisposeAsync();
        app = null;
    }

    private Task Serve(HttpContext context, string kind, string listKind, string apiVersion)
    {
        Authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
        var query = context.Request.Query;
        var fieldSelector = query["fieldSelector"].ToString();
        return query["watch"] is { Count: > 0 } watch && (watch[0] == "true" || watch[0] == "1")
            ? ServeWatch(context, kind, apiVersion, fieldSelector, query["resourceVersion"].ToString(), query["allowWatchBookmarks"] == "true", query["timeoutSeconds"].ToString())
            : ServeList(context, kind, listKind, apiVersion, fieldSelector, query["limit"].ToString(), query["continue"].ToString());
    }

    private async Task ServeList(HttpContext context, string kind, string listKind, string apiVersion, string fieldSelector, string limitText, string continueToken)
    {
        JsonObject body;
        lock (gate)
        {
            ListRequests++;
            var (snapshotVersion, offset) = (version, 0);
            if (continueToken.Length > 0)
            {
                var parts = Encoding.UTF8.GetString(Convert.FromBase64String(continueToken)).Split(':');
                (snapshotVersion, offset) = (long.Parse(parts[0]), int.Parse(parts[1]));
                if (snapshotVersion < compactedThrough)
                {
                    context.Response.StatusCode = 410;
                    body = Status(410, "Expired", "The provided continue parameter is too old");
                    goto write;
                }
            }

            var matching = objects.Where(o => o.Key.Kind == kind && Selector(fieldSelector)(o.Value)).OrderBy(o => o.Key.Key, StringComparer.Ordinal).Select(o => o.Value).ToList();
            var limit = int.TryParse(limitText, out var l) && l > 0 ? l : int.MaxValue;
            var page = matching.Skip(offset).Take(limit).Select(o => o.DeepClone()).ToArray();
            var next = offset + page.Length < matching.Count ? Convert.ToBase64String(Encoding.UTF8.GetBytes($"{snapshotVersion}:{offset + page.Length}")) : null;
            var metadata = new JsonObject { ["resourceVersion"] = snapshotVersion.ToString() };
            if (next is not null)
            {
                metadata["continue"] = next;
            }

            body = new JsonObject { ["kind"] = listKind, ["apiVersion"] = apiVersion, ["metadata"] = metadata, ["items"] = new JsonArray(page) };
        }

    write:
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private async Task ServeWatch(HttpContext context, string kind, string apiVersion, string fieldSelector, string resourceVersion, bool bookmarks, string timeoutText)
    {
        var from = long.TryParse(resourceVersion, out var rv) ? rv : 0;
        var watch = new Watch(kind, context, Selector(fieldSelector));
        lock (gate)
        {
            WatchRequests++;
            if (from < compactedThrough && from != 0)
            {
                // Too old: what the API server does is answer 200 and send one ERROR event.
                watch.Events.Writer.TryWrite(Event("ERROR", Status(410, "Expired", $"too old resource version: {from} ({compactedThrough + 1})")));
                watch.Events.Writer.TryComplete();
            }
            else
            {
                foreach (var (v, k, type, node) in history.Where(h => h.Version > from && h.Kind == kind && watch.Matches(h.Object)))
                {
                    watch.Events.Writer.TryWrite(Event(type, node));
                }

                watches.Add(watch);
            }
        }

        context.Response.ContentType = "application/json";
        await context.Response.StartAsync();
        var deadline = int.TryParse(timeoutText, out var seconds) && seconds > 0 ? DateTime.UtcNow.AddSeconds(seconds) : DateTime.MaxValue;
        try
        {
            while (!context.RequestAborted.IsCancellationRequested && DateTime.UtcNow < deadline)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                wait.CancelAfter(BookmarkInterval);
                string? line = null;
                try
                {
                    if (!await watch.Events.Reader.WaitToReadAsync(wait.Token))
                    {
                        break;
                    }

                    if (!watch.Stalled)
                    {
                        watch.Events.Reader.TryRead(out line);
                    }
                }
                catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
                {
                    if (bookmarks && !watch.Stalled)
                    {
                        long current;
                        lock (gate)
                        {
                            current = version;
                        }

                        line = Event("BOOKMARK", new JsonObject { ["kind"] = kind, ["apiVersion"] = apiVersion, ["metadata"] = new JsonObject { ["resourceVersion"] = current.ToString() } });
                    }
                }

                if (watch.Stalled)
                {
                    await Task.Delay(50, context.RequestAborted);
                    continue;
                }

                if (line is not null)
                {
                    await context.Response.WriteAsync(line + "\n", context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client went away, or we dropped it on purpose.
        }
        finally
        {
            lock (gate)
            {
                watches.Remove(watch);
            }
        }
    }

    private static string Event(string type, JsonObject node) =>
        new JsonObject { ["type"] = type, ["object"] = node.DeepClone() }.ToJsonString();

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private static string Key(JsonObject node)
    {
        var metadata = node["metadata"]!;
        var ns = metadata["namespace"]?.GetValue<string>();
        var name = metadata["name"]!.GetValue<string>();
        return ns is null ? name : $"{ns}/{name}";
    }

    private static Func<JsonObject, bool> Selector(string fieldSelector)
    {
        if (fieldSelector.StartsWith("spec.nodeName=", StringComparison.Ordinal))
        {
            var node = fieldSelector["spec.nodeName=".Length..];
            return o => o["spec"]?["nodeName"]?.GetValue<string>() == node;
        }

        return _ => true;
    }

    private sealed class Watch(string kind, HttpContext context, Func<JsonObject, bool> filter)
    {
        public string Kind { get; } = kind;

        public HttpContext Context { get; } = context;

        public Channel<string> Events { get; } = Channel.CreateUnbounded<string>();

        public volatile bool Stalled;

        public bool Matches(JsonObject node) => filter(node);
    }
}
