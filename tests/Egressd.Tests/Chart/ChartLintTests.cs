namespace Egressd.Tests.Chart;

/// <summary>helm lint and helm template accept the chart with its defaults and with every values file in the repository, and every object it renders fits the Kubernetes schemas.</summary>
public sealed class ChartLintTests
{
    public static TheoryData<string> ValuesFiles() => [.. HelmChart.ValuesFiles().Prepend("(defaults)")];

    [Fact]
    public void The_repository_has_the_values_files_the_docs_name()
    {
        var files = HelmChart.ValuesFiles();
        Assert.Contains("helm/egressd/values-demo.yaml", files);
        Assert.Contains("tilt/values-tilt.yaml", files);
        Assert.Contains("helm/egressd/examples/values-production.yaml", files);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Lints_renders_and_every_object_fits_its_schema(string values)
    {
        var args = HelmChart.WithValues(values == "(defaults)" ? null : values);
        var (code, said) = HelmChart.Lint([.. args, "--strict"]);
        Assert.True(code == 0, $"helm lint --strict {values}:\n{said}");

        var rendered = HelmChart.Template(args);
        Assert.True(rendered.ValidationCode == 0, $"schema check of {values}:\n{rendered.ValidationOutput}");
        Assert.Contains(rendered.Objects, o => (string?)o["kind"] == "DaemonSet");
        Assert.Contains($"{rendered.Objects.Count} objects, 0 invalid", rendered.ValidationOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void The_schema_check_refuses_an_object_with_a_wrong_field()
    {
        // The check must be able to fail: a port name where a number belongs.
        _ = HelmChart.Tools;
        var bad = Path.Combine(Path.GetTempPath(), $"egressd-bad-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(bad, "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n    - port: metrics\n");
        try
        {
            var (code, said) = HelmChart.Run("node", [Infrastructure.Repo.Path("helm", "test", "validate-manifests.mjs"), bad]);
            Assert.NotEqual(0, code);
            Assert.Contains("invalid Service/x", said, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [Fact]
    public void Values_the_schema_refuses_stop_the_install_with_the_key_named()
    {
        var (code, said) = HelmChart.Run(HelmChart.Helm, ["template", "x", HelmChart.ChartPath, "--set", "collector.readInterval=5"]);
        Assert.NotEqual(0, code);
        Assert.Contains("/collector/readInterval", said, StringComparison.Ordinal);

        (code, said) = HelmChart.Run(HelmChart.Helm, ["template", "x", HelmChart.ChartPath, "--set", "collector.readIntervall=00:00:05"]);
        Assert.NotEqual(0, code);
        Assert.Contains("readIntervall", said, StringComparison.Ordinal);
    }
}
