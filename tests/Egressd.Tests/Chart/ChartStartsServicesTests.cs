using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Chart;

/// <summary>
/// The chart starts the services, with its defaults and with every values file and example in
/// the repository: each container's arguments, environment and mounted files, exactly as
/// rendered, start the built service, which must answer ready. A setting the chart names that the
/// services no longer know, or a configuration they refuse, fails here with the file's name and
/// the service's own error.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed partial class ChartStartsServicesTests(RabbitMqBroker broker)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    public static TheoryData<string> ValuesFiles() => [.. HelmChart.ValuesFiles().Prepend("(defaults)")];

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    [Trait("Category", "Slow")]
    public async Task Every_component_starts_ready_from_its_rendered_configuration(string valuesFile)
    {
        // What a cluster would give the pods, this test's own: the broker and the API server.
        var bus = await broker.BusSettingsAsync();
        await using var api = await FakeKubernetesApi.StartAsync();
        // The collector's pod shares its node's network (hostNetwork); the node here is a lab namespace.
        using var lab = new NetnsLab();
        api.Apply(FakeKubernetesApi.Node(lab.Node, "zone-a", "region-1", "10.0.0.1"));

        // The file as a user passes it, then the one thing a cluster would give instead: the
        // broker, made the test's (plaintext, a user and password of its own).
        var values = Path.Combine(Path.GetTempPath(), $"egressd-chart-broker-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(values, $$"""
            global:
              broker:
                mode: external
                virtualHost: {{Json(bus["Egressd:Bus:RabbitMq:VirtualHost"])}}
                external:
                  host: {{Json(bus["Egressd:Bus:RabbitMq:Host"])}}
                  port: {{bus["Egressd:Bus:RabbitMq:Port"]}}
                  username: {{Json(bus["Egressd:Bus:RabbitMq:Username"])}}
                  usernameKey: ""
                  password: {{Json(bus["Egressd:Bus:RabbitMq:Password"])}}
                  existingSecret: ""
                tls:
                  enabled: false
            """, TestContext.Current.CancellationToken);
        Rendered rendered;
        try
        {
            rendered = HelmChart.Template([.. HelmChart.WithValues(valuesFile == "(defaults)" ? null : valuesFile), "-f", values]);
        }
        finally
        {
            File.Delete(values);
        }

        Assert.Equal(0, rendered.ValidationCode);
        var known = KnownSettings();
        var files = Directory.CreateTempSubdirectory("egressd-chart-files-").FullName;
        var services = new List<ServiceProcess>();
        try
        {
            foreach (var (workload, service, assembly) in new[]
            {
                ("egressd-collector", "collector", "Egressd.Collector"),
                ("egressd-enricher", "enricher", "Egressd.Enricher"),
                ("egressd-exporter", "exporter", "Egressd.Exporter"),
            })
            {
                var (_, _, spec) = rendered.PodSpecs().Single(p => p.Name == workload);
                var container = spec["containers"]![0]!.AsObject();
                var names = container["env"]!.AsArray().Select(e => e!["name"]!.ToString()).ToList();
                Assert.True(names.Count == names.Distinct(StringComparer.OrdinalIgnoreCase).Count(), $"{valuesFile}: {workload} names a variable twice: {string.Join(", ", names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key))}");
                var mounts = Mount(rendered, spec, container, Path.Combine(files, service));
                var env = Environment(rendered, container, mounts, lab.Node);

                var unknown = env.Keys.Where(k => k.StartsWith("Egressd__", StringComparison.Ordinal) && !IsKnown(k, known)).ToList();
                Assert.True(unknown.Count == 0, $"{valuesFile}: {workload} sets settings no service knows (docs/CONFIGURATION.md): {string.Join(", ", unknown)}");

                // The rendered probes ask the port the rendered settings serve on.
                var port = env["Egressd__Http__Port"];
                Assert.Equal(port, container["readinessProbe"]!["httpGet"]!["port"]!.ToString());
                Assert.Equal(port, container["ports"]![0]!["containerPort"]!.ToString());

                // Substitutions for running outside a pod, and nothing else: the API server from a
                // kubeconfig (a pod uses its service account), a free port (tests run side by side),
                // and the node's network namespace for the collector's own.
                env["Egressd__Kubernetes__Kubeconfig"] = api.Kubeconfig;
                env["Egressd__Http__Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (service == "collector")
                {
                    Assert.False(env.ContainsKey("Egressd__Collector__Netns"), "the collector reads its own (the node's) network namespace by default");
                    env["Egressd__Collector__Netns"] = lab.NodePath;
                }

                var (entrypoint, imageArgs) = Entrypoint(service);
                Assert.Equal(assembly + ".dll", entrypoint);
                string[] args = [.. imageArgs, .. (container["args"]?.AsArray().Select(a => a!.ToString()) ?? [])];
                Assert.Null(container["command"]);
                // ServiceProcess takes settings by name (Egressd:Http:Port) and sets them as variables again.
                var settings = env.ToDictionary(e => e.Key.Replace("__", ":", StringComparison.Ordinal), e => e.Value);
                services.Add(ServiceProcess.Start(workload, Repo.ServiceDll(service, assembly), settings, args: args));
            }

            foreach (var service in services)
            {
                try
                {
                    await service.WaitUntilAsync("/readyz", HttpStatusCode.OK, Patience);
                }
                catch (TimeoutException) when (service.HasExited)
                {
                    // A refused configuration: the service's own one-line error, which names the setting.
                    var said = service.Output.LastOrDefault(l => l.Contains("Egressd:", StringComparison.Ordinal)) ?? service.Output.LastOrDefault() ?? "(nothing)";
                    Assert.Fail($"{valuesFile}: {service.Name} refused the configuration the chart rendered: {said}");
                }
            }

            // The collector's windows reach the broker through the rendered settings (its publish is mandatory).
            var collector = services.Single(s => s.Name == "egressd-collector");
            await collector.WaitForMoreReadsAsync(2, Patience);
            Assert.Contains("egressd_collector_publish_failures_total 0", await collector.GetStringAsync("/metrics"), StringComparison.Ordinal);

            // Really on the test's broker and API server: the enricher listed what the API serves.
            var enricher = services.Single(s => s.Name == "egressd-enricher");
            Assert.Contains("egressd_kubernetes_objects{resource=\"nodes\"} 1", await enricher.GetStringAsync("/metrics"), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var service in services)
            {
                await service.DisposeAsync();
            }

            Directory.Delete(files, recursive: true);
        }
    }

    private static string Json(string? value) => System.Text.Json.JsonSerializer.Serialize(value ?? "");

    /// <summary>Each volume the container mounts, made a temporary directory with the rendered Secret or ConfigMap content.</summary>
    private static Dictionary<string, string> Mount(Rendered rendered, JsonObject spec, JsonObject container, string root)
    {
        var volumes = spec["volumes"]!.AsArray().ToDictionary(v => v!["name"]!.ToString(), v => v!.AsObject());
        var mounts = new Dictionary<string, string>();
        foreach (var mount in container["volumeMounts"]?.AsArray() ?? [])
        {
            var name = mount!["name"]!.ToString();
            var dir = Path.Combine(root, name);
            Directory.CreateDirectory(dir);
            var volume = volumes[name];
            if (volume["secret"] is { } secret)
            {
                var items = secret["items"]?.AsArray();
                WriteItems(dir, items, SecretData(rendered, secret["secretName"]!.ToString(), items?.Select(i => i!["key"]!.ToString()) ?? []));
            }
            else if (volume["configMap"] is { } configMap)
            {
                var data = rendered.Single("ConfigMap", configMap["name"]!.ToString())["data"]!.AsObject();
                WriteItems(dir, configMap["items"]?.AsArray(), data.ToDictionary(d => d.Key, d => d.Value!.ToString()));
            }
            else
            {
                // emptyDir or hostPath: an empty directory of the test's.
                Assert.True(volume["emptyDir"] is not null || volume["hostPath"] is not null, $"volume {name}: a kind this test cannot stand in for");
            }

            mounts[mount["mountPath"]!.ToString()] = mount["subPath"] is { } sub ? Path.Combine(dir, sub.ToString()) : dir;
        }

        return mounts;
    }

    /// <summary>
    /// A Secret's data: the rendered one, or for a Secret the user manages (an example's
    /// secretKeyRef to a token) a stand-in holding each key with a placeholder value.
    /// </summary>
    private static Dictionary<string, string> SecretData(Rendered rendered, string name, IEnumerable<string> keys)
    {
        var secret = rendered.Objects.SingleOrDefault(o => (string?)o["kind"] == "Secret" && (string?)o["metadata"]!["name"] == name);
        return secret is null
            ? keys.ToDictionary(k => k, k => $"stand-in-{name}-{k}")
            : secret["data"]!.AsObject().ToDictionary(d => d.Key, d => Encoding.UTF8.GetString(Convert.FromBase64String(d.Value!.ToString())));
    }

    private static void WriteItems(string dir, JsonArray? items, Dictionary<string, string> data)
    {
        if (items is null)
        {
            foreach (var (key, value) in data)
            {
                File.WriteAllText(Path.Combine(dir, key), value);
            }

            return;
        }

        foreach (var item in items)
        {
            var key = item!["key"]!.ToString();
            Assert.True(data.ContainsKey(key), $"the mounted Secret or ConfigMap has no key {key}");
            File.WriteAllText(Path.Combine(dir, item["path"]!.ToString()), data[key]);
        }
    }

    /// <summary>The container's environment as the kubelet would give it, with mounted paths made the test's.</summary>
    private static Dictionary<string, string?> Environment(Rendered rendered, JsonObject container, Dictionary<string, string> mounts, string nodeName)
    {
        var env = new Dictionary<string, string?>();
        foreach (var entry in container["env"]!.AsArray())
        {
            var name = entry!["name"]!.ToString();
            string? value;
            if (entry["value"] is { } literal)
            {
                value = literal.ToString();
            }
            else if (entry["valueFrom"]?["fieldRef"]?["fieldPath"]?.ToString() is { } field)
            {
                value = field switch
                {
                    "spec.nodeName" => nodeName,
                    "status.hostIP" or "status.podIP" => "127.0.0.1",
                    "metadata.namespace" => HelmChart.Namespace,
                    _ => throw new InvalidOperationException($"{name}: fieldRef {field} has no stand-in here"),
                };
            }
            else if (entry["valueFrom"]?["secretKeyRef"] is { } secretKey)
            {
                var key = secretKey["key"]!.ToString();
                var data = SecretData(rendered, secretKey["name"]!.ToString(), [key]);
                Assert.True(data.ContainsKey(key), $"{name}: the Secret {secretKey["name"]} has no key {key}");
                value = data[key];
            }
            else
            {
                throw new InvalidOperationException($"{name}: a source this test cannot stand in for");
            }

            // A path inside a mounted volume points into the test's copy of it.
            var (mountPath, local) = mounts.Where(m => value is not null && (value == m.Key || value.StartsWith(m.Key + "/", StringComparison.Ordinal)))
                .OrderByDescending(m => m.Key.Length).FirstOrDefault();
            if (mountPath is not null)
            {
                value = local + value![mountPath.Length..];
                Assert.True(File.Exists(value) || Directory.Exists(value), $"{name} points at {value}, which the mounted volume does not hold");
            }

            env[name] = value;
        }

        return env;
    }

    /// <summary>The image's ENTRYPOINT (after "dotnet"): the dll it runs and any arguments.</summary>
    private static (string Dll, string[] Args) Entrypoint(string service)
    {
        var dockerfile = File.ReadAllText(Repo.Path("deploy", "docker", service + ".Dockerfile"));
        var match = EntrypointLine().Match(dockerfile);
        Assert.True(match.Success, $"deploy/docker/{service}.Dockerfile has no exec-form ENTRYPOINT");
        var parts = JsonNode.Parse(match.Groups[1].Value)!.AsArray().Select(p => p!.ToString()).ToArray();
        Assert.Equal("dotnet", parts[0]);
        return (parts[1], parts[2..]);
    }

    /// <summary>Every setting docs/CONFIGURATION.md lists (a test keeps it equal to the options classes).</summary>
    private static HashSet<string> KnownSettings() =>
        [.. ReferenceKey().Matches(File.ReadAllText(Repo.Path("docs", "CONFIGURATION.md"))).Select(m => m.Groups[1].Value)];

    /// <summary>
    /// A setting, an entry of a list or map setting (PrivateCidrs__0, StaticLabels__cluster), an
    /// entry of a map of maps (RegionPrices__sa-east-1__internet), or a field of a list of objects
    /// (Destinations__0__Cidrs__0); whether the fields themselves are right, the service's own
    /// validator says when it starts.
    /// </summary>
    private static bool IsKnown(string variable, HashSet<string> known)
    {
        var key = variable.Replace("__", ":", StringComparison.Ordinal);
        return known.Any(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase)
            || (key.StartsWith(k + ":", StringComparison.OrdinalIgnoreCase) && key[(k.Length + 1)..].Split(':') is var rest
                && (rest.Length <= 2 || (rest.Length <= 3 && rest[0].All(char.IsAsciiDigit)))));
    }

    [GeneratedRegex(@"^\|\s*`(Egressd:[A-Za-z:]+)`\s*\|", RegexOptions.Multiline)]
    private static partial Regex ReferenceKey();

    [GeneratedRegex(@"^ENTRYPOINT\s+(\[.*\])\s*$", RegexOptions.Multiline)]
    private static partial Regex EntrypointLine();
}
