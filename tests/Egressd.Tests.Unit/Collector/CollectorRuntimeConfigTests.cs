using System.Text.Json.Nodes;

namespace Egressd.Tests.Collector;

/// <summary>
/// The collector's runtime settings as its build writes them (the image runs that runtimeconfig):
/// its footprint on a node depends on them (docs/BENCHMARKS.md, "Collector: footprint on a node").
/// </summary>
public sealed class CollectorRuntimeConfigTests
{
    private static JsonNode ConfigProperties()
    {
        // Referenced executables' runtimeconfigs are copied next to the tests.
        var path = Path.Combine(AppContext.BaseDirectory, "Egressd.Collector.runtimeconfig.json");
        Assert.True(File.Exists(path), $"{path} is missing: the tests no longer reference the collector's build");
        return JsonNode.Parse(File.ReadAllText(path))!["runtimeOptions"]!["configProperties"]!;
    }

    [Fact]
    public void Dynamic_PGO_is_off_so_a_collector_reading_every_few_seconds_stops_recompiling()
    {
        Assert.False((bool)ConfigProperties()["System.Runtime.TieredPGO"]!);
    }

    [Fact]
    public void The_heap_stays_small_workstation_non_concurrent_with_a_small_gen0()
    {
        var properties = ConfigProperties();
        Assert.False((bool)properties["System.GC.Server"]!);
        Assert.False((bool)properties["System.GC.Concurrent"]!);
        Assert.Equal(2 << 20, (int)properties["System.GC.Gen0MaxBudget"]!);
    }
}
