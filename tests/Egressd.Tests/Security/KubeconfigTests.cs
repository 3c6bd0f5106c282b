using System.Net;
using Egressd.Shared.Kubernetes;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Security;

/// <summary>
/// A kubeconfig that skips the API server's certificate check, or runs an exec credential plugin (with the collector's
/// root rights), is refused at start in one line unless a setting allows it; the plugin never runs before that.
/// </summary>
public sealed class KubeconfigTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("egressd-kubeconfig-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public async Task Insecure_skip_tls_verify_stops_the_service_with_one_line()
    {
        var kubeconfig = Write("insecure.yaml", Kubeconfig("https://127.0.0.1:6443", "    insecure-skip-tls-verify: true", "    token: t"));

        var line = await RefusedAsync("enricher", kubeconfig);

        Assert.Contains($"Egressd:Kubernetes:Kubeconfig '{kubeconfig}': cluster 'c' sets insecure-skip-tls-verify", line, StringComparison.Ordinal);
        Assert.Contains("Egressd:Kubernetes:AllowInsecureSkipTlsVerify=true", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_plugin_stops_the_collector_with_one_line_and_never_runs()
    {
        var marker = Path.Combine(folder, "plugin-ran");
        var kubeconfig = Write("exec.yaml", Kubeconfig("https://127.0.0.1:6443", "", ExecUser(marker)));

        var line = await RefusedAsync("collector", kubeconfig);

        Assert.Contains("user 'u' gets its credentials from an exec plugin ('" + Path.Combine(folder, "plugin.sh") + "')", line, StringComparison.Ordinal);
        Assert.Contains("Egressd:Kubernetes:AllowExecCredentialPlugins=true", line, StringComparison.Ordinal);
        Assert.False(File.Exists(marker), "the exec plugin ran before the kubeconfig was refused");
    }

    [Theory]
    [InlineData("clusters: [ {name: c\n  bad\n")]
    [InlineData("just a scalar\n")]
    [InlineData("apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n")]
    public async Task Malformed_kubeconfig_stops_the_service_with_one_line(string content)
    {
        var kubeconfig = Write("malformed.yaml", content);

        var line = await RefusedAsync("enricher", kubeconfig);

        Assert.Contains($"Egressd:Kubernetes:Kubeconfig '{kubeconfig}'", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_plugin_runs_when_the_setting_allows_it()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var marker = Path.Combine(folder, "plugin-ran");
        var kubeconfig = Write("exec.yaml", Kubeconfig($"http://127.0.0.1:{api.Port}", "", ExecUser(marker)));

        await using var process = ServiceProcess.Start("collector", Repo.ServiceDll("collector", "Egressd.Collector"), new Dictionary<string, string?>
        {
            ["Egressd:Collector:Source"] = "replay",
            ["Egressd:Collector:ReplayFile"] = Repo.SampleFlows,
            ["Egressd:Collector:NodeName"] = "node-a",
            ["Egressd:ClusterContext:Source"] = "Kubernetes",
            ["Egressd:Kubernetes:Kubeconfig"] = kubeconfig,
            ["Egressd:Kubernetes:AllowExecCredentialPlugins"] = "true",
        });
        await process.WaitUntilAsync("/readyz", HttpStatusCode.OK, TimeSpan.FromSeconds(60));

        Assert.True(File.Exists(marker), process.Tail());
    }

    [Theory]
    [InlineData(false, false, 2)]
    [InlineData(true, false, 1)]
    [InlineData(false, true, 1)]
    [InlineData(true, true, 0)]
    public void Each_setting_allows_only_its_own_risk(bool allowInsecure, bool allowExec, int errors)
    {
        var kubeconfig = Write("both.yaml", Kubeconfig("https://127.0.0.1:6443", "    insecure-skip-tls-verify: true", ExecUser(Path.Combine(folder, "plugin-ran"))));
        var options = new KubernetesOptions { Kubeconfig = kubeconfig, AllowInsecureSkipTlsVerify = allowInsecure, AllowExecCredentialPlugins = allowExec };

        var result = new KubernetesOptionsValidator().Validate(null, options);

        Assert.Equal(errors, result.Failures?.Count() ?? 0);
    }

    [Fact]
    public void Only_the_current_context_is_checked()
    {
        // Another context in the same file, with an insecure cluster and an exec user, is never used.
        var kubeconfig = Write("two.yaml", """
            apiVersion: v1
            kind: Config
            clusters:
            - name: safe
              cluster:
                server: https://127.0.0.1:6443
            - name: lax
              cluster:
                server: https://127.0.0.1:6444
                insecure-skip-tls-verify: true
            contexts:
            - name: used
              context: { cluster: safe, user: token }
            - name: unused
              context: { cluster: lax, user: plugin }
            current-context: used
            users:
            - name: token
              user: { token: t }
            - name: plugin
              user:
                exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: /bin/true }
            """);

        var result = new KubernetesOptionsValidator().Validate(null, new KubernetesOptions { Kubeconfig = kubeconfig });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    private static async Task<string> RefusedAsync(string service, string kubeconfig)
    {
        var assembly = "Egressd." + char.ToUpperInvariant(service[0]) + service[1..];
        await using var process = ServiceProcess.Start(service, Repo.ServiceDll(service, assembly), new Dictionary<string, string?>
        {
            ["Egressd:Collector:Source"] = "replay",
            ["Egressd:Collector:ReplayFile"] = Repo.SampleFlows,
            ["Egressd:Kubernetes:Kubeconfig"] = kubeconfig,
        });
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 2, $"exit code {exitCode}:\n{process.Tail()}");
        var line = Assert.Single(process.Output, l => l.StartsWith("stderr: ", StringComparison.Ordinal));
        Assert.Contains($"egressd-{service}: configuration error:", line, StringComparison.Ordinal);
        return line;
    }

    // A plugin that leaves a mark and answers with a token, as a real one would. The client joins arguments with
    // spaces, so the plugin is a script of its own rather than sh -c.
    private string ExecUser(string marker)
    {
        var plugin = Write("plugin.sh", $$$"""
            #!/bin/sh
            touch '{{{marker}}}'
            echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"from-plugin"}}'
            """);
        File.SetUnixFileMode(plugin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return $"""
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: {plugin}
            """;
    }

    private static string Kubeconfig(string server, string clusterExtra, string user) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: c
          cluster:
            server: {server}
        {clusterExtra}
        contexts:
        - name: x
          context:
            cluster: c
            user: u
        current-context: x
        users:
        - name: u
          user:
        {user}
        """;

    private string Write(string name, string content)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, content);
        return path;
    }
}
