using System.Text.Json.Nodes;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Chart;

/// <summary>
/// What running the chart in a real cluster needs, for the defaults and every values file: renders
/// that never change by themselves (GitOps), no credential in a render, unique variable names,
/// Prometheus Operator objects only where their CRDs are, a broker only egressd reaches, the Pod
/// Security level helm/README.md gives each pod, and a collector that stays on Linux nodes.
/// </summary>
public sealed class ChartOperationsTests
{
    private static readonly string[] Everywhere = ["0.0.0.0/0", "::/0"];

    public static TheoryData<string> ValuesFiles() => [.. HelmChart.ValuesFiles().Prepend("(defaults)")];

    private static string[] Args(string values, params string[] more) => [.. HelmChart.WithValues(values == "(defaults)" ? null : values), .. more];

    private static string? Str(JsonNode? node) => node?.GetValue<object>()?.ToString();

    private static IEnumerable<JsonObject> Containers(JsonObject podSpec) =>
        (podSpec["containers"]?.AsArray() ?? []).Concat(podSpec["initContainers"]?.AsArray() ?? []).Select(c => c!.AsObject());

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Two_renders_are_the_same_and_hold_no_generated_credential(string values)
    {
        var first = HelmChart.TemplateText(Args(values));
        var second = HelmChart.TemplateText(Args(values));
        Assert.True(first == second, $"{values}: two renders differ (a Secret generated at render time?)");

        // A changed value changes the render, and only where it is used.
        var changed = HelmChart.TemplateText(Args(values, "--set", "collector.readInterval=00:00:07"));
        Assert.NotEqual(first, changed);
        Assert.Contains("00:00:07", changed, StringComparison.Ordinal);

        var rendered = HelmChart.Template(Args(values));
        foreach (var secret in rendered.OfKind("Secret"))
        {
            Assert.False(secret["data"]?["password"] is not null && secret["metadata"]!["name"]!.ToString().EndsWith("-rabbitmq", StringComparison.Ordinal),
                $"{values}: the broker's password is in the render");
        }

        var bundled = rendered.OfKind("StatefulSet").Any();
        var job = rendered.OfKind("Job").SingleOrDefault(j => Str(j["metadata"]!["name"]) == "egressd-rabbitmq-credentials");
        Assert.Equal(bundled, job is not null);
        if (job is not null)
        {
            // A hook that runs before the broker, in the cluster, and leaves an existing Secret alone.
            Assert.Equal("pre-install,pre-upgrade", Str(job["metadata"]!["annotations"]!["helm.sh/hook"]));
            var script = string.Join('\n', job["spec"]!["template"]!["spec"]!["containers"]![0]!["command"]!.AsArray().Select(Str));
            Assert.Contains("--ignore-not-found", script, StringComparison.Ordinal);
            Assert.Contains("/dev/urandom", script, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void An_existing_secret_replaces_the_generated_one_for_the_broker_and_every_component()
    {
        var rendered = HelmChart.Template("--set", "global.broker.bundled.existingSecret=my-broker");
        Assert.DoesNotContain(rendered.OfKind("Job"), j => Str(j["metadata"]!["name"]) == "egressd-rabbitmq-credentials");
        var broker = rendered.PodSpecs().Single(p => p.Kind == "StatefulSet").PodSpec["containers"]![0]!["env"]!.AsArray();
        Assert.All(broker.Where(e => e!["valueFrom"] is not null), e => Assert.Equal("my-broker", Str(e!["valueFrom"]!["secretKeyRef"]!["name"])));
        foreach (var name in new[] { "egressd-collector", "egressd-enricher", "egressd-exporter" })
        {
            var spec = rendered.PodSpecs().Single(p => p.Name == name).PodSpec;
            Assert.Contains(spec["volumes"]!.AsArray(), v => Str(v!["secret"]?["secretName"]) == "my-broker");
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Every_container_names_each_variable_once(string values)
    {
        foreach (var (kind, name, spec) in HelmChart.Template(Args(values)).PodSpecs())
        {
            foreach (var c in Containers(spec))
            {
                var names = (c["env"]?.AsArray() ?? []).Select(e => Str(e!["name"])!).ToList();
                var twice = names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
                Assert.True(twice.Count == 0, $"{values}: {kind}/{name}/{Str(c["name"])} names {string.Join(", ", twice)} more than once");
            }
        }
    }

    [Fact]
    public void A_setting_replaces_the_variable_the_chart_sets_and_extra_env_replaces_both()
    {
        // The values.yaml example: a setting the chart also sets from a value wins, once.
        var rendered = HelmChart.Template("--set-string", "collector.settings.Egressd:Collector:ReadInterval=00:00:10",
            "--set", "exporter.extraEnv[0].name=Egressd__Exporter__Prometheus__MaxSeries", "--set-string", "exporter.extraEnv[0].value=5000",
            "--set-string", "exporter.settings.Egressd:Exporter:Prometheus:MaxSeries=7000");
        var collector = ChartManifestTests.Env(rendered, "egressd-collector");
        Assert.Equal("00:00:10", collector["Egressd__Collector__ReadInterval"]);
        Assert.Equal("5000", ChartManifestTests.Env(rendered, "egressd-exporter")["Egressd__Exporter__Prometheus__MaxSeries"]);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Monitors_and_rules_only_where_the_cluster_serves_their_CRDs(string values)
    {
        var offline = HelmChart.Template(Args(values));
        Assert.DoesNotContain(offline.Objects, o => Str(o["apiVersion"])!.StartsWith("monitoring.coreos.com/", StringComparison.Ordinal));

        var rendered = HelmChart.Template(Args(values, HelmChart.WithPrometheusOperator));
        Assert.Equal(0, rendered.ValidationCode);
        var monitors = rendered.OfKind("PodMonitor").Select(m => Str(m["metadata"]!["name"])).Order(StringComparer.Ordinal).ToList();
        var external = !rendered.OfKind("StatefulSet").Any() && !rendered.OfKind("RabbitmqCluster").Any();
        Assert.Equal(external ? ["egressd-collector", "egressd-enricher", "egressd-exporter"] : ["egressd-broker", "egressd-collector", "egressd-enricher", "egressd-exporter"], monitors);
        Assert.Single(rendered.OfKind("PrometheusRule"));

        // Each monitor selects a workload's pods, on a port those pods name.
        foreach (var monitor in rendered.OfKind("PodMonitor"))
        {
            var selector = monitor["spec"]!["selector"]!["matchLabels"]!.AsObject();
            var port = Str(monitor["spec"]!["podMetricsEndpoints"]![0]!["port"]);
            if (Str(monitor["metadata"]!["name"]) == "egressd-broker" && rendered.OfKind("RabbitmqCluster").Any())
            {
                continue; // The operator's pods: it names 15692 "prometheus".
            }

            var pods = rendered.Objects.Where(o => o["spec"]?["template"]?["metadata"]?["labels"] is JsonObject labels
                && selector.All(s => Str(labels[s.Key]) == Str(s.Value))).ToList();
            Assert.True(pods.Count == 1, $"{values}: PodMonitor {monitor["metadata"]!["name"]} selects {pods.Count} workloads");
            Assert.Contains(pods[0]["spec"]!["template"]!["spec"]!["containers"]![0]!["ports"]!.AsArray(), p => Str(p!["name"]) == port);
        }

        // Forced off even where the CRDs are; forced on where a render cannot see them (GitOps).
        var off = HelmChart.Template(Args(values, [.. HelmChart.WithPrometheusOperator, "--set", "global.monitoring.podMonitors=false", "--set", "global.monitoring.prometheusRule=false"]));
        Assert.DoesNotContain(off.Objects, o => Str(o["apiVersion"])!.StartsWith("monitoring.coreos.com/", StringComparison.Ordinal));
        var on = HelmChart.Template(Args(values, "--set", "global.monitoring.podMonitors=true", "--set", "global.monitoring.prometheusRule=true"));
        Assert.Equal(monitors.Count, on.OfKind("PodMonitor").Count());
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Scrape_annotations_are_on_pods_or_services_never_both(string values)
    {
        var rendered = HelmChart.Template(Args(values));
        foreach (var service in rendered.OfKind("Service"))
        {
            var selector = service["spec"]!["selector"]?.AsObject();
            if (selector is null || service["metadata"]!["annotations"]?["prometheus.io/scrape"] is null)
            {
                continue;
            }

            var annotatedPods = rendered.Objects.Where(o => o["spec"]?["template"]?["metadata"] is JsonObject meta
                && meta["labels"] is JsonObject labels && selector.All(s => Str(labels[s.Key]) == Str(s.Value))
                && meta["annotations"]?["prometheus.io/scrape"] is not null);
            Assert.True(!annotatedPods.Any(), $"{values}: Service {service["metadata"]!["name"]} and its pods both carry prometheus.io/scrape");
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void The_broker_admits_only_egressd_and_the_node_ranges_given(string values)
    {
        var rendered = HelmChart.Template(Args(values));
        var policy = rendered.OfKind("NetworkPolicy").SingleOrDefault(p => Str(p["metadata"]!["name"]) == "egressd-rabbitmq-amqp");
        var networkPolicies = rendered.OfKind("NetworkPolicy").Any();
        var external = !rendered.OfKind("StatefulSet").Any() && !rendered.OfKind("RabbitmqCluster").Any();
        Assert.Equal(networkPolicies && !external, policy is not null);
        if (policy is null)
        {
            return;
        }

        var valuesNode = values == "(defaults)" ? "" : File.ReadAllText(Repo.Path(values));
        foreach (var rule in policy["spec"]!["ingress"]!.AsArray())
        {
            var ports = rule!["ports"]!.AsArray().Select(p => (int)p!["port"]!).ToList();
            var from = rule["from"]?.AsArray() ?? [];
            Assert.True(from.Count > 0, $"{values}: the broker admits ports {string.Join(",", ports)} from anywhere");
            foreach (var peer in from)
            {
                Assert.False(peer!["namespaceSelector"] is JsonObject { Count: 0 } && ports.Contains(5672), $"{values}: AMQP from every namespace");
                if (peer!["ipBlock"] is { } block)
                {
                    var cidr = Str(block["cidr"])!;
                    Assert.True(ports.SequenceEqual([5672]), $"{values}: an address range {cidr} is admitted to {string.Join(",", ports)}");
                    Assert.DoesNotContain(cidr, Everywhere);
                    Assert.Contains(cidr, valuesNode, StringComparison.Ordinal);
                }
                else if (ports.Contains(5672))
                {
                    var labels = peer["podSelector"]!["matchLabels"]!.AsObject();
                    Assert.Equal("egressd", Str(labels["app.kubernetes.io/part-of"]));
                    Assert.Equal("egressd", Str(labels["app.kubernetes.io/instance"]));
                    Assert.Null(peer["namespaceSelector"]);
                }
            }
        }

        // The broker's metrics port is open to the scrapers.
        Assert.Contains(policy["spec"]!["ingress"]!.AsArray(), r => r!["ports"]!.AsArray().Any(p => (int)p!["port"]! == 15692));
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void The_helm_test_job_reaches_the_exporter_whatever_metricsFrom_says(string values)
    {
        var rendered = HelmChart.Template(Args(values));
        var policy = rendered.OfKind("NetworkPolicy").SingleOrDefault(p => Str(p["metadata"]!["name"]) == "egressd-exporter");
        if (policy is null)
        {
            return;
        }

        var job = rendered.OfKind("Job").Single(j => Str(j["metadata"]!["annotations"]?["helm.sh/hook"]) == "test");
        var jobLabels = job["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        var admitted = policy["spec"]!["ingress"]!.AsArray().Any(r => r!["ports"]!.AsArray().Any(p => (int)p!["port"]! == 6060)
            && r["from"]!.AsArray().Any(peer => peer!["namespaceSelector"] is JsonObject ns && ns.Count == 0 && peer["podSelector"] is null
                || peer!["podSelector"]?["matchLabels"] is JsonObject m && peer["namespaceSelector"] is null && m.All(l => Str(jobLabels[l.Key]) == Str(l.Value))));
        Assert.True(admitted, $"{values}: the exporter's NetworkPolicy keeps the helm test Job out");
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Each_pod_meets_the_pod_security_level_the_docs_give_it(string values)
    {
        // helm/README.md, "Pod Security": the collector needs "privileged" (host network, host
        // paths, capabilities beyond baseline's); everything else meets "restricted".
        var readme = File.ReadAllText(Repo.Path("helm", "README.md"));
        Assert.Contains("pod-security.kubernetes.io/enforce=privileged", readme, StringComparison.Ordinal);
        var rendered = HelmChart.Template(Args(values));
        foreach (var (kind, name, spec) in rendered.PodSpecs())
        {
            if (name == "egressd-collector")
            {
                Assert.True(spec["hostNetwork"]!.GetValue<bool>(), "the collector is documented as needing privileged for its host network");
                continue;
            }

            if (name.StartsWith("egressd-demo-", StringComparison.Ordinal))
            {
                continue; // The demo's Prometheus and Grafana: not part of what the docs rate.
            }

            var problems = ChartManifestTests.RestrictedProblems(spec, readOnlyRoot: kind != "StatefulSet" && !ChartManifestTests.LiveUpdates(values)).ToList();
            Assert.True(problems.Count == 0, $"{values}: {kind}/{name} is not restricted: {string.Join("; ", problems)}");
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void The_collector_capabilities_are_the_ones_the_docs_list(string values)
    {
        var security = File.ReadAllText(Repo.Path("docs", "SECURITY.md"));
        var readme = File.ReadAllText(Repo.Path("helm", "README.md"));
        var spec = HelmChart.Template(Args(values)).PodSpecs().Single(p => p.Name == "egressd-collector").PodSpec;
        foreach (var capability in spec["containers"]![0]!["securityContext"]!["capabilities"]!["add"]!.AsArray().Select(c => Str(c)!))
        {
            Assert.Contains($"`CAP_{capability}`", security, StringComparison.Ordinal);
            Assert.Contains($"`{capability}`", readme, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void The_collector_stays_on_linux_nodes_with_a_priority_class(string values)
    {
        var spec = HelmChart.Template(Args(values)).PodSpecs().Single(p => p.Name == "egressd-collector").PodSpec;
        Assert.Equal("linux", Str(spec["nodeSelector"]!["kubernetes.io/os"]));
        Assert.False(string.IsNullOrEmpty(Str(spec["priorityClassName"])), $"{values}: the collector has no priority class");
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Every_deployment_and_the_broker_have_a_disruption_budget(string values)
    {
        var rendered = HelmChart.Template(Args(values));
        var budgets = rendered.OfKind("PodDisruptionBudget").Select(b => b["spec"]!["selector"]!["matchLabels"]!.AsObject()).ToList();
        // The demo's Prometheus and Grafana (one replica each, not for production) aside.
        foreach (var workload in rendered.Objects.Where(o => Str(o["kind"]) is "Deployment" or "StatefulSet" && !Str(o["metadata"]!["name"])!.StartsWith("egressd-demo-", StringComparison.Ordinal)))
        {
            var labels = workload["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
            Assert.True(budgets.Any(b => b.All(l => Str(labels[l.Key]) == Str(l.Value))), $"{values}: {workload["kind"]}/{workload["metadata"]!["name"]} has no PodDisruptionBudget");
        }

        if (rendered.OfKind("RabbitmqCluster").SingleOrDefault() is { } cluster)
        {
            // The operator labels its pods app.kubernetes.io/name: <cluster>.
            Assert.Contains(budgets, b => Str(b["app.kubernetes.io/name"]) == Str(cluster["metadata"]!["name"]));
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Pod_templates_do_not_change_with_the_chart_version(string values)
    {
        var rendered = HelmChart.Template(Args(values));
        foreach (var workload in rendered.Objects.Where(o => o["spec"]?["template"]?["metadata"] is not null))
        {
            var labels = workload["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
            Assert.True(labels["helm.sh/chart"] is null && labels["app.kubernetes.io/version"] is null, $"{values}: {workload["kind"]}/{workload["metadata"]!["name"]}'s pods carry the chart's version");
        }
    }

    [Fact]
    public void Every_image_comes_from_the_global_registry_when_one_is_set()
    {
        var rendered = HelmChart.Template(["--set", "global.image.registry=mirror.example/team", "-f", Repo.Path("helm", "egressd", "values-demo.yaml")]);
        var images = rendered.PodSpecs().SelectMany(p => Containers(p.PodSpec)).Select(c => Str(c["image"])!).ToList();
        Assert.Contains(images, i => i.Contains("rabbitmq", StringComparison.Ordinal));
        Assert.Contains(images, i => i.Contains("busybox", StringComparison.Ordinal));
        Assert.All(images, i => Assert.StartsWith("mirror.example/team/", i, StringComparison.Ordinal));
    }

    [Fact]
    public void The_flow_log_is_off_by_default_and_goes_to_a_file_on_a_volume_when_on()
    {
        var off = ChartManifestTests.Env(HelmChart.Template(), "egressd-exporter");
        Assert.Equal("false", off["Egressd__Exporter__FlowLog__Enabled"]);

        var rendered = HelmChart.Template("--set", "exporter.flowLog.enabled=true");
        var env = ChartManifestTests.Env(rendered, "egressd-exporter");
        var path = env["Egressd__Exporter__FlowLog__Path"]!;
        var spec = rendered.PodSpecs().Single(p => p.Name == "egressd-exporter").PodSpec;
        var mount = spec["containers"]![0]!["volumeMounts"]!.AsArray().Single(m => Str(m!["name"]) == "flow-log");
        Assert.StartsWith(Str(mount!["mountPath"]) + "/", path, StringComparison.Ordinal);
        Assert.NotNull(spec["volumes"]!.AsArray().Single(v => Str(v!["name"]) == "flow-log")!["emptyDir"]!["sizeLimit"]);
    }

    [Fact]
    public void Cilium_bpffs_follows_mounts_made_after_the_collector_started()
    {
        var spec = HelmChart.Template("--set", "collector.cilium.enabled=true", "--set", "collector.cgroup.enabled=true").PodSpecs().Single(p => p.Name == "egressd-collector").PodSpec;
        var mounts = spec["containers"]![0]!["volumeMounts"]!.AsArray();
        var bpf = mounts.Single(m => Str(m!["name"]) == "bpf")!;
        Assert.Equal("HostToContainer", Str(bpf["mountPropagation"]));
        var cgroup = mounts.Single(m => Str(m!["name"]) == "cgroup")!;
        Assert.True(cgroup["readOnly"]!.GetValue<bool>());
        Assert.Equal("/sys/fs/cgroup", Str(cgroup["mountPath"]));
    }

    [Fact]
    public void The_collector_attributes_node_address_flows_by_the_hosts_cgroup_tree_mounted_read_only_unless_told_not_to()
    {
        var rendered = HelmChart.Template();
        var spec = rendered.PodSpecs().Single(p => p.Name == "egressd-collector").PodSpec;
        var cgroup = spec["containers"]![0]!["volumeMounts"]!.AsArray().Single(m => Str(m!["name"]) == "cgroup")!;
        Assert.True(cgroup["readOnly"]!.GetValue<bool>());
        Assert.Equal("/sys/fs/cgroup", Str(spec["volumes"]!.AsArray().Single(v => Str(v!["name"]) == "cgroup")!["hostPath"]!["path"]));
        var env = ChartManifestTests.Env(rendered, "egressd-collector");
        Assert.Equal(("true", "/sys/fs/cgroup"), (env["Egressd__Collector__HostNetworkAttribution"], env["Egressd__Collector__CgroupRoot"]));

        var off = HelmChart.Template("--set", "collector.cgroup.enabled=false");
        var offSpec = off.PodSpecs().Single(p => p.Name == "egressd-collector").PodSpec;
        Assert.DoesNotContain(offSpec["volumes"]!.AsArray(), v => Str(v!["name"]) == "cgroup");
        Assert.Equal("false", ChartManifestTests.Env(off, "egressd-collector")["Egressd__Collector__HostNetworkAttribution"]);
    }

    [Fact]
    public void On_cgroup_v1_nodes_the_collector_reads_the_hosts_processes_read_only_with_SYS_PTRACE_only_when_asked()
    {
        static string[] Capabilities(JsonNode spec) => [.. spec["containers"]![0]!["securityContext"]!["capabilities"]!["add"]!.AsArray().Select(c => Str(c)!)];

        var byDefault = HelmChart.Template().PodSpecs().Single(p => p.Name == "egressd-collector").PodSpec;
        Assert.DoesNotContain(byDefault["volumes"]!.AsArray(), v => Str(v!["name"]) == "host-proc");
        Assert.DoesNotContain("SYS_PTRACE", Capabilities(byDefault));

        var rendered = HelmChart.Template("--set", "collector.cgroup.v1Processes=true");
        var spec = rendered.PodSpecs().Single(p => p.Name == "egressd-collector").PodSpec;
        var proc = spec["containers"]![0]!["volumeMounts"]!.AsArray().Single(m => Str(m!["name"]) == "host-proc")!;
        Assert.Equal("/host/proc", Str(proc["mountPath"]));
        Assert.True(proc["readOnly"]!.GetValue<bool>());
        Assert.Equal("/proc", Str(spec["volumes"]!.AsArray().Single(v => Str(v!["name"]) == "host-proc")!["hostPath"]!["path"]));
        Assert.Equal("/host/proc", ChartManifestTests.Env(rendered, "egressd-collector")["Egressd__Collector__ProcRoot"]);
        Assert.Contains("SYS_PTRACE", Capabilities(spec));

        // Without the cgroup tree there is nothing to attribute, so nothing of the host's is read.
        var off = HelmChart.Template("--set", "collector.cgroup.v1Processes=true", "--set", "collector.cgroup.enabled=false").PodSpecs().Single(p => p.Name == "egressd-collector").PodSpec;
        Assert.DoesNotContain(off["volumes"]!.AsArray(), v => Str(v!["name"]) == "host-proc");
        Assert.DoesNotContain("SYS_PTRACE", Capabilities(off));
    }
}
