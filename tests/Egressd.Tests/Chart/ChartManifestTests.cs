using System.Text.Json.Nodes;

namespace Egressd.Tests.Chart;

/// <summary>What the rendered manifests promise: least privilege, budgets, probes, pinned images, one broker for all.</summary>
public sealed class ChartManifestTests
{
    public static TheoryData<string> ValuesFiles() => [.. HelmChart.ValuesFiles().Prepend("(defaults)")];

    private static Rendered Render(string values) => HelmChart.Template(HelmChart.WithValues(values == "(defaults)" ? null : values));

    private static IEnumerable<JsonObject> Containers(JsonObject podSpec, bool init = true) =>
        (podSpec["containers"]?.AsArray() ?? []).Concat(init ? podSpec["initContainers"]?.AsArray() ?? [] : []).Select(c => c!.AsObject());

    /// <summary>Tilt's values: its live update writes into /app, so the root file system stays writable there (only there).</summary>
    internal static bool LiveUpdates(string values) => values == "tilt/values-tilt.yaml";

    private static string? Str(JsonNode? node) => node?.GetValue<object>()?.ToString();

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Enricher_exporter_and_jobs_meet_the_restricted_pod_security_standard(string values)
    {
        var rendered = Render(values);
        var restricted = rendered.PodSpecs().Where(p => p.Name.EndsWith("-enricher", StringComparison.Ordinal) || p.Name.EndsWith("-exporter", StringComparison.Ordinal) || p.Kind == "Job").ToList();
        Assert.Contains(restricted, p => p.Name == "egressd-exporter");
        Assert.Contains(restricted, p => p.Kind == "Job");
        foreach (var (kind, name, spec) in restricted)
        {
            var problems = RestrictedProblems(spec, readOnlyRoot: !LiveUpdates(values)).ToList();
            Assert.True(problems.Count == 0, $"{kind}/{name} is not restricted: {string.Join("; ", problems)}");
        }
    }

    /// <summary>The "restricted" profile's checks (Pod Security Standards, baseline included), and egressd's read-only root unless told not to.</summary>
    internal static IEnumerable<string> RestrictedProblems(JsonObject spec, bool readOnlyRoot = true)
    {
        foreach (var host in new[] { "hostNetwork", "hostPID", "hostIPC" })
        {
            if (spec[host]?.GetValue<bool>() == true)
            {
                yield return host;
            }
        }

        if ((spec["volumes"]?.AsArray() ?? []).Any(v => v!["hostPath"] is not null))
        {
            yield return "hostPath volume";
        }

        var pod = spec["securityContext"]?.AsObject();
        foreach (var c in Containers(spec))
        {
            var sc = c["securityContext"]?.AsObject();
            var name = Str(c["name"]);
            if (sc?["privileged"]?.GetValue<bool>() == true)
            {
                yield return $"{name}: privileged";
            }

            if (sc?["allowPrivilegeEscalation"]?.GetValue<bool>() != false)
            {
                yield return $"{name}: allowPrivilegeEscalation not false";
            }

            if ((sc?["runAsNonRoot"] ?? pod?["runAsNonRoot"])?.GetValue<bool>() != true)
            {
                yield return $"{name}: runAsNonRoot not true";
            }

            if ((sc?["runAsUser"] ?? pod?["runAsUser"])?.GetValue<long>() == 0)
            {
                yield return $"{name}: runAsUser 0";
            }

            var seccomp = Str((sc?["seccompProfile"] ?? pod?["seccompProfile"])?["type"]);
            if (seccomp is not ("RuntimeDefault" or "Localhost"))
            {
                yield return $"{name}: seccompProfile {seccomp ?? "unset"}";
            }

            var drop = sc?["capabilities"]?["drop"]?.AsArray().Select(Str).ToList() ?? [];
            if (!drop.Contains("ALL"))
            {
                yield return $"{name}: capabilities not dropped (ALL)";
            }

            var add = sc?["capabilities"]?["add"]?.AsArray().Select(Str).ToList() ?? [];
            if (add.Any(a => a != "NET_BIND_SERVICE"))
            {
                yield return $"{name}: adds {string.Join(",", add)}";
            }

            // Not in the standard, but promised for egressd's own containers: nothing written outside volumes.
            if (readOnlyRoot && sc?["readOnlyRootFilesystem"]?.GetValue<bool>() != true)
            {
                yield return $"{name}: root file system writable";
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void The_collector_asks_only_for_the_capabilities_it_uses(string values)
    {
        var args = HelmChart.WithValues(values == "(defaults)" ? null : values);
        var rendered = HelmChart.Template(args);
        var (_, _, spec) = rendered.PodSpecs().Single(p => p.Kind == "DaemonSet");
        var collector = Containers(spec, init: false).Single();
        var sc = collector["securityContext"]!.AsObject();
        Assert.False(sc["privileged"]!.GetValue<bool>(), "the collector container runs privileged");
        Assert.False(sc["allowPrivilegeEscalation"]!.GetValue<bool>());
        Assert.Equal(!LiveUpdates(values), sc["readOnlyRootFilesystem"]!.GetValue<bool>());
        Assert.Equal(["ALL"], sc["capabilities"]!["drop"]!.AsArray().Select(Str));

        var env = collector["env"]!.AsArray().ToDictionary(e => Str(e!["name"])!, e => Str(e!["value"]));
        var add = sc["capabilities"]!["add"]!.AsArray().Select(c => Str(c)!).ToHashSet();
        // Each capability for what the collector does with it (docs/SECURITY.md).
        var used = new HashSet<string> { "NET_ADMIN" };
        if (env.GetValueOrDefault("Egressd__Collector__Netns") is { Length: > 0 })
        {
            used.UnionWith(["SYS_ADMIN", "SYS_PTRACE"]);
        }

        if (env.ContainsKey("Egressd__Collector__BpfRoot"))
        {
            used.Add("BPF");
        }

        if ((spec["volumes"]?.AsArray() ?? []).Any(v => Str(v!["name"]) == "state"))
        {
            Assert.Equal("/var/lib/egressd", env["Egressd__Collector__StateDirectory"]);
        }

        // DNS capture reads packets: CAP_NET_RAW, and only then.
        if (env["Egressd__Collector__Dns__Enabled"] == "true")
        {
            used.Add("NET_RAW");
        }

        Assert.True(add.SetEquals(used), $"adds {string.Join(",", add.Order())}, uses {string.Join(",", used.Order())}");
        Assert.Equal(env.ContainsKey("Egressd__Collector__Netns"), spec["hostPID"]!.GetValue<bool>());

        // The one privileged container there may be: the opt-in init container that turns accounting on and exits.
        foreach (var init in spec["initContainers"]?.AsArray() ?? [])
        {
            Assert.Equal("accounting", Str(init!["name"]));
            Assert.Equal("init", Str(init["args"]![0]));
        }
    }

    [Fact]
    public void By_default_no_container_of_the_chart_is_privileged()
    {
        var rendered = HelmChart.Template();
        var privileged = rendered.PodSpecs()
            .SelectMany(p => Containers(p.PodSpec).Select(c => (p.Name, Container: c)))
            .Where(x => x.Container["securityContext"]?["privileged"]?.GetValue<bool>() == true)
            .Select(x => $"{x.Name}/{Str(x.Container["name"])}");
        Assert.Empty(privileged);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Every_rbac_rule_only_reads_named_resources(string values)
    {
        var rendered = Render(values);
        var roles = rendered.Objects.Where(o => (string?)o["kind"] is "ClusterRole" or "Role").ToList();
        Assert.NotEmpty(roles);
        foreach (var role in roles.Where(r => Str(r["metadata"]!["name"]) != "egressd-rabbitmq-credentials"))
        {
            foreach (var rule in role["rules"]!.AsArray())
            {
                var verbs = rule!["verbs"]!.AsArray().Select(Str).ToList();
                var resources = rule["resources"]!.AsArray().Select(Str).ToList();
                Assert.True(verbs.All(v => v is "get" or "list" or "watch"), $"{role["metadata"]!["name"]}: verbs {string.Join(",", verbs)}");
                Assert.DoesNotContain("*", resources);
                Assert.DoesNotContain("*", rule["apiGroups"]!.AsArray().Select(Str));
                Assert.Null(rule["nonResourceURLs"]);
            }
        }

        // The bundled broker's credentials Job: creates a Secret, and reads or labels only that one.
        if (roles.SingleOrDefault(r => Str(r["metadata"]!["name"]) == "egressd-rabbitmq-credentials") is { } credentials)
        {
            foreach (var rule in credentials["rules"]!.AsArray())
            {
                Assert.Equal(["secrets"], rule!["resources"]!.AsArray().Select(Str));
                var verbs = rule["verbs"]!.AsArray().Select(Str).ToList();
                Assert.True(verbs.SequenceEqual(["create"]) || (verbs.SequenceEqual(["get", "patch"]) && rule["resourceNames"]!.AsArray().Select(Str).SequenceEqual(["egressd-rabbitmq"])), string.Join(",", verbs));
            }

            Assert.Equal("Role", Str(credentials["kind"]));
        }

        // Exactly what each component reads.
        string[] Rules(string name) => [.. rendered.Single("ClusterRole", name)["rules"]!.AsArray()
            .SelectMany(r => r!["resources"]!.AsArray().Select(x => $"{Str(r["apiGroups"]![0])}/{Str(x)}")).Order(StringComparer.Ordinal)];
        Assert.Equal(["/pods"], Rules("egressd-collector"));
        Assert.Equal(["/nodes", "/pods", "/services", "apps/replicasets", "batch/jobs"], Rules("egressd-enricher"));
        Assert.DoesNotContain(rendered.Objects, o => (string?)o["kind"] is "ClusterRoleBinding" or "RoleBinding" && o["subjects"]!.AsArray().Any(s => Str(s!["name"]) == "egressd-exporter"));
        Assert.False(rendered.Single("Deployment", "egressd-exporter")["spec"]!["template"]!["spec"]!["automountServiceAccountToken"]!.GetValue<bool>());
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Every_container_has_requests_limits_probes_and_a_pinned_image(string values)
    {
        var rendered = Render(values);
        foreach (var (kind, name, spec) in rendered.PodSpecs())
        {
            foreach (var c in Containers(spec))
            {
                var where = $"{kind}/{name}/{Str(c["name"])}";
                // A CPU limit is the user's choice (throttling delays a collector's reads); memory is bounded.
                Assert.True(c["resources"]?["requests"]?["cpu"] is not null && c["resources"]?["requests"]?["memory"] is not null, $"{where}: no requests");
                Assert.True(c["resources"]?["limits"]?["memory"] is not null, $"{where}: no memory limit");

                var image = Str(c["image"])!;
                var tag = image.Contains('@', StringComparison.Ordinal) ? "digest" : image[(image.LastIndexOf(':') + 1)..];
                Assert.True(image.LastIndexOf(':') > image.LastIndexOf('/') && tag is { Length: > 0 } && tag != "latest", $"{where}: image {image} has no pinned tag");
            }

            // Init containers and a Job's run-to-completion container have no probes in Kubernetes' sense.
            if (kind != "Job")
            {
                foreach (var c in Containers(spec, init: false))
                {
                    Assert.True(c["readinessProbe"] is not null && c["livenessProbe"] is not null, $"{kind}/{name}/{Str(c["name"])}: probes missing");
                }
            }
        }

        // egressd's own containers probe /healthz for liveness and /readyz for readiness.
        foreach (var (_, name, spec) in rendered.PodSpecs().Where(p => p.Name is "egressd-collector" or "egressd-enricher" or "egressd-exporter"))
        {
            var c = Containers(spec, init: false).Single();
            Assert.Equal("/healthz", Str(c["livenessProbe"]!["httpGet"]!["path"]));
            Assert.Equal("/readyz", Str(c["readinessProbe"]!["httpGet"]!["path"]));
        }
    }

    [Fact]
    public void Budgets_follow_the_measured_figures()
    {
        var rendered = HelmChart.Template();
        static double MiB(string q) => q.EndsWith("Gi", StringComparison.Ordinal) ? double.Parse(q[..^2], System.Globalization.CultureInfo.InvariantCulture) * 1024 : double.Parse(q[..^2], System.Globalization.CultureInfo.InvariantCulture);
        var collector = rendered.PodSpecs().Single(p => p.Name == "egressd-collector").PodSpec["containers"]![0]!["resources"]!;
        // docs/BENCHMARKS.md, collector-footprint: at most 96 MiB peak RSS on a typical node (5,000 flows
        // every 5 s window), so the request covers it with headroom and stays under egressd's 128 MiB;
        // 122-128 MiB at 250,000 changing keys or conntrack entries, which the limit covers twice over.
        Assert.InRange(MiB(Str(collector["requests"]!["memory"])!), 96 * 1.1, 128);
        Assert.True(MiB(Str(collector["limits"]!["memory"])!) >= 2 * 128, "the collector's limit leaves no room above its measured peak on a busy node");
        var exporter = rendered.PodSpecs().Single(p => p.Name == "egressd-exporter").PodSpec["containers"]![0]!["resources"]!;
        // 200,000 series (MaxSeries) at up to 285 B each over 77 MiB idle, and a scrape's peak (142 MiB at 100,000).
        Assert.True(MiB(Str(exporter["limits"]!["memory"])!) >= 2 * 142, "the exporter's limit is under twice its measured peak at 100,000 series");
    }

    [Fact]
    public void The_enricher_and_exporter_get_the_gen0_budget_and_it_can_be_left_to_the_runtime()
    {
        var rendered = HelmChart.Template();
        Assert.Equal("0x2000000", Env(rendered, "egressd-enricher")["DOTNET_GCgen0size"]);
        Assert.Equal("0x2000000", Env(rendered, "egressd-exporter")["DOTNET_GCgen0size"]);
        // The collector's budget is the tightest: no larger gen0 there.
        Assert.False(Env(rendered, "egressd-collector").ContainsKey("DOTNET_GCgen0size"));

        var runtimeDefault = HelmChart.Template("--set", "enricher.gcGen0Size=", "--set", "exporter.gcGen0Size=");
        Assert.False(Env(runtimeDefault, "egressd-enricher").ContainsKey("DOTNET_GCgen0size"));
        Assert.False(Env(runtimeDefault, "egressd-exporter").ContainsKey("DOTNET_GCgen0size"));
    }

    [Fact]
    public void Changing_the_broker_in_values_changes_it_for_every_component()
    {
        var bundled = HelmChart.Template();
        var external = HelmChart.Template(
            "--set", "global.broker.mode=external", "--set", "global.broker.external.host=mq.example.internal",
            "--set", "global.broker.external.port=5671", "--set", "global.broker.external.username=flows",
            "--set", "global.broker.external.existingSecret=mq-creds", "--set", "global.broker.virtualHost=egressd",
            "--set", "global.broker.tls.enabled=true", "--set", "global.broker.tls.caSecret=mq-ca");

        Assert.Contains(bundled.Objects, o => (string?)o["kind"] == "StatefulSet");
        Assert.DoesNotContain(external.Objects, o => (string?)o["kind"] == "StatefulSet");
        foreach (var name in new[] { "egressd-collector", "egressd-enricher", "egressd-exporter" })
        {
            var before = Env(bundled, name);
            Assert.Equal("egressd-rabbitmq.egressd.svc", before["Egressd__Bus__RabbitMq__Host"]);
            Assert.Equal("rabbitmq", before["Egressd__Bus__Transport"]);

            var after = Env(external, name);
            Assert.Equal("mq.example.internal", after["Egressd__Bus__RabbitMq__Host"]);
            Assert.Equal("5671", after["Egressd__Bus__RabbitMq__Port"]);
            Assert.Equal("egressd", after["Egressd__Bus__RabbitMq__VirtualHost"]);
            Assert.Equal("flows", after["Egressd__Bus__RabbitMq__Username"]);
            Assert.Equal("true", after["Egressd__Bus__RabbitMq__UseTls"]);
            Assert.Equal("/etc/egressd/broker-ca/ca.pem", after["Egressd__Bus__RabbitMq__TlsCaFile"]);
            var volumes = external.PodSpecs().Single(p => p.Name == name).PodSpec["volumes"]!.AsArray();
            Assert.Contains(volumes, v => Str(v!["secret"]?["secretName"]) == "mq-creds");
            Assert.Contains(volumes, v => Str(v!["secret"]?["secretName"]) == "mq-ca");
        }
    }

    [Fact]
    public void A_broker_cluster_gives_every_component_each_node_to_fail_over_to()
    {
        var operatorMode = HelmChart.Template("--set", "global.broker.mode=operator");
        var external = HelmChart.Template(
            "--set", "global.broker.mode=external", "--set", "global.broker.external.hosts={mq-0.example.internal:5671,mq-1.example.internal}",
            "--set", "global.broker.external.username=flows", "--set", "global.broker.external.existingSecret=mq-creds",
            "--set", "global.broker.tls.enabled=true", "--set", "global.broker.tls.serverName=mq.example.internal");
        foreach (var name in new[] { "egressd-collector", "egressd-enricher", "egressd-exporter" })
        {
            var nodes = Env(operatorMode, name);
            Assert.False(nodes.ContainsKey("Egressd__Bus__RabbitMq__Host"), $"{name}: Host beside Hosts is refused by the services");
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal($"egressd-rabbitmq-server-{i}.egressd-rabbitmq-nodes.egressd.svc", nodes[$"Egressd__Bus__RabbitMq__Hosts__{i}"]);
            }

            Assert.False(nodes.ContainsKey("Egressd__Bus__RabbitMq__Hosts__3"));

            var given = Env(external, name);
            Assert.False(given.ContainsKey("Egressd__Bus__RabbitMq__Host"));
            Assert.Equal("mq-0.example.internal:5671", given["Egressd__Bus__RabbitMq__Hosts__0"]);
            Assert.Equal("mq-1.example.internal", given["Egressd__Bus__RabbitMq__Hosts__1"]);
            Assert.Equal("mq.example.internal", given["Egressd__Bus__RabbitMq__TlsServerName"]);
        }

        var cluster = operatorMode.OfKind("RabbitmqCluster").Single();
        Assert.Equal(3, (int)cluster["spec"]!["replicas"]!);
        Assert.Contains("cluster_partition_handling = pause_minority", (string?)cluster["spec"]!["rabbitmq"]!["additionalConfig"]);

        // Several nodes over TLS need the one name every node's certificate carries.
        var refused = Assert.Throws<InvalidOperationException>(() => HelmChart.TemplateText(
            "--set", "global.broker.mode=external", "--set", "global.broker.external.hosts={a,b}",
            "--set", "global.broker.external.username=flows", "--set", "global.broker.tls.enabled=true"));
        Assert.Contains("global.broker.tls.serverName is required with several broker hosts", refused.Message);
    }

    /// <summary>The literal environment of a workload's main container.</summary>
    internal static Dictionary<string, string?> Env(Rendered rendered, string workload) =>
        rendered.PodSpecs().Single(p => p.Name == workload).PodSpec["containers"]![0]!["env"]!.AsArray()
            .Where(e => e!["value"] is not null)
            .ToDictionary(e => Str(e!["name"])!, e => Str(e!["value"]));
}
