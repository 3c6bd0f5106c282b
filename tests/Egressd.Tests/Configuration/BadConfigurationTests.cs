using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Configuration;

/// <summary>A bad setting stops the service at start with one line that names it.</summary>
public sealed class BadConfigurationTests
{
    public static TheoryData<string, string, string, string> Cases => new()
    {
        { "collector", "Egressd:Bus:Transport=kafka", "Egressd:Bus:Transport", "kafka" },
        { "collector", "Egressd:Collector:ReadInterval=-00:00:05", "Egressd:Collector:ReadInterval", "at least" },
        { "collector", "Egressd:Collector:ReadInterval=00:00:00.0009", "Egressd:Collector:ReadInterval", "at least 00:00:00.1" },
        { "collector", "Egressd:Collector:ReadInterval=5", "Egressd:Collector:ReadInterval", "a bare number is read as days" },
        { "collector", "Egressd:Collector:ReadInterval=soon", "Egressd:Collector:ReadInterval", "soon" },
        { "enricher", "Egressd:Bus:Transport=rabbitmq", "Egressd:Bus:RabbitMq:Host", "required" },
        { "exporter", "Egressd:Bus:Transport=rabbitmq;Egressd:Bus:RabbitMq:Host=localhost;Egressd:Bus:RabbitMq:PasswordFile=/proc/1/egressd-missing-secret", "Egressd:Bus:RabbitMq:PasswordFile", "cannot be read" },
        { "exporter", "Egressd:Http:Port=70000", "Egressd:Http:Port", "70000" },
        { "collector", "Egressd:Collector:ReplayFile=/nonexistent/flows.jsonl", "Egressd:Collector:ReplayFile", "does not exist" },
        { "collector", "Egressd:Collector:MaxPendingKeys=10", "Egressd:Collector:MaxPendingKeys", "between 1000 and 100000000 (got 10)" },
        { "collector", "Egressd:Collector:MaxNewHostConnections=10", "Egressd:Collector:MaxNewHostConnections", "between 1024 and 4194304 (got 10)" },
        { "collector", "Egressd:Collector:Source=ebpf", "Egressd:Collector:Source", "one of Auto, Netfilter, Cilium, Replay" },
        { "collector", "Egressd:Collector:Source=cilium;Egressd:Collector:BpfRoot=/nonexistent/bpf", "Egressd:Collector:BpfRoot", "does not exist" },
        { "collector", "Egressd:Collector:CiliumCounters=rxtx", "Egressd:Collector:CiliumCounters", "one of Auto, Split, Combined" },
        { "collector", "Egressd:Collector:Source=netfilter;Egressd:Collector:Netns=/run/netns/egressd-missing", "Egressd:Collector:Netns", "does not exist" },
        { "collector", "Egressd:ClusterContext:Source=inventory", "Egressd:Inventory:File", "needs" },
        { "collector", "Egressd:Inventory:File=/etc/hostname", "Egressd:Inventory:File", "/etc/hostname" },
        { "enricher", "Egressd:Inventory:File=" + NullEntryInventory, "Egressd:Inventory:File", "a list holds a null entry" },
        { "collector", "Egressd:Network:PrivateCidrs:0=10.0.0.1/8", "Egressd:Network:PrivateCidrs:0", "CIDR" },
        { "enricher", "Egressd:ClusterContext:Source=magic", "Egressd:ClusterContext:Source", "one of Auto, Kubernetes, Inventory, None" },
        { "enricher", "Egressd:Enricher:InZoneCidrs:0=zone-a", "Egressd:Enricher:InZoneCidrs:0", "zone-a" },
        { "enricher", "Egressd:Kubernetes:Kubeconfig=/nonexistent/kubeconfig", "Egressd:Kubernetes:Kubeconfig", "does not exist" },
        { "enricher", "Egressd:ClusterContext:Source=Inventory", "Egressd:Inventory:File", "needs" },
        { "collector", "Egressd:Kubernetes:WatchIdleTimeout=-00:01:00", "Egressd:Kubernetes:WatchIdleTimeout", "at least 00:00:01" },
        { "enricher", "Egressd:Bus:PublishTimeout=30", "Egressd:Bus:PublishTimeout", "a bare number is read as days" },
        { "exporter", "Egressd:Exporter:Prometheus:DropLabels=src_pod,pod_ip", "Egressd:Exporter:Prometheus:DropLabels", "unknown label 'pod_ip'" },
        { "exporter", "Egressd:Exporter:Prometheus:AddLabels=dst_workload,workload", "Egressd:Exporter:Prometheus:AddLabels", "unknown label 'workload'" },
        { "exporter", "Egressd:Exporter:Prometheus:IdleTimeout=-00:01:00", "Egressd:Exporter:Prometheus:IdleTimeout", "must be at least 00:00:01 (got -00:01:00)" },
        { "exporter", "Egressd:Exporter:Prometheus:Level=cluster", "Egressd:Exporter:Prometheus:Level", "one of Pod, Workload, Namespace" },
        { "exporter", "Egressd:Exporter:Prometheus:MaxSeries=0", "Egressd:Exporter:Prometheus:MaxSeries", "at least 1" },
        { "exporter", "Egressd:Exporter:Prometheus:StaticLabels:src_pod=x", "Egressd:Exporter:Prometheus:StaticLabels:src_pod", "flow label" },
        { "exporter", "Egressd:Exporter:RemoteWrite:Enabled=true", "Egressd:Exporter:RemoteWrite:Url", "required" },
        { "exporter", "Egressd:Exporter:RemoteWrite:Enabled=true;Egressd:Exporter:RemoteWrite:Url=http://127.0.0.1:9/api/v1/write;Egressd:Exporter:RemoteWrite:Headers:Authorization=Bearer ${EGRESSD_TEST_UNSET_TOKEN}", "Egressd:Exporter:RemoteWrite:Headers:Authorization", "'EGRESSD_TEST_UNSET_TOKEN', which is not set" },
        { "exporter", "Egressd:Exporter:Sinks:hook:http:method=POST", "Egressd:Exporter:Sinks:hook:http:url", "required" },
        { "exporter", "Egressd:Exporter:Sinks:hook:http:url=http://127.0.0.1:9/in;Egressd:Exporter:Sinks:hook:http:encoding=avro", "Egressd:Exporter:Sinks:hook:http:encoding", "'avro'" },
        { "exporter", "Egressd:Exporter:Sinks:hook:http:url=http://127.0.0.1:9/in;Egressd:Exporter:Sinks:hook:http:compression=zstd", "Egressd:Exporter:Sinks:hook:http:compression", "'zstd'" },
        { "exporter", "Egressd:Exporter:Sinks:hook:http:url=http://127.0.0.1:9/in;Egressd:Exporter:Sinks:hook:http:timeout=30", "Egressd:Exporter:Sinks:hook:http:timeout", "a duration" },
        { "exporter", "Egressd:Exporter:Sinks:hook:http:url=http://127.0.0.1:9/in;Egressd:Exporter:Sinks:hook:http:flushDelay=10m", "Egressd:Exporter:Sinks:hook:http:flushDelay", "must be between 00:00:00 and 00:05:00 (got 00:10:00)" },
        { "exporter", "Egressd:Exporter:ConfigFile=" + MalformedYaml, "Egressd:Exporter:ConfigFile", "cannot be read as YAML" },
    };

    private static readonly string MalformedYaml = WriteTemp("sinks:\n  castai:\n    http: [url: x\n  bad\n");

    private static readonly string NullEntryInventory = WriteTemp("""{ "pods": [null] }""");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_setting_stops_the_service_with_one_line_naming_it(string service, string settings, string key, string detail)
    {
        var values = new Dictionary<string, string?>
        {
            ["Egressd:Collector:Source"] = "replay",
            ["Egressd:Collector:ReplayFile"] = Repo.SampleFlows,
        };
        foreach (var pair in settings.Split(';'))
        {
            var (k, v) = (pair[..pair.IndexOf('=')], pair[(pair.IndexOf('=') + 1)..]);
            values[k] = v;
        }

        var assembly = "Egressd." + char.ToUpperInvariant(service[0]) + service[1..];
        await using var process = ServiceProcess.Start(service, Repo.ServiceDll(service, assembly), values);
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        var errors = process.Output.Where(l => l.StartsWith("stderr: ", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(errors);
        Assert.Contains(key, line, StringComparison.Ordinal);
        Assert.Contains(detail, line, StringComparison.Ordinal);
        Assert.Contains($"egressd-{service}: configuration error:", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inventory_with_null_lists_is_an_empty_inventory_not_a_crash()
    {
        var values = new Dictionary<string, string?>
        {
            ["Egressd:Collector:Source"] = "replay",
            ["Egressd:Collector:ReplayFile"] = Repo.SampleFlows,
            ["Egressd:Inventory:File"] = WriteTemp("""{ "pods": null, "nodes": [{ "name": "n", "internalIps": null }], "services": null }"""),
        };
        await using var process = ServiceProcess.Start("collector", Repo.ServiceDll("collector", "Egressd.Collector"), values);
        await process.WaitUntilAsync("/readyz", System.Net.HttpStatusCode.OK, TimeSpan.FromSeconds(60));
        Assert.False(process.HasExited);
    }

    private static string WriteTemp(string content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"egressd-inventory-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, content);
        return path;
    }
}
