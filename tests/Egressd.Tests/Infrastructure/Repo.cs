namespace Egressd.Tests.Infrastructure;

/// <summary>Paths inside the repository the tests run from.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>The built service assembly, from the same configuration the tests were built in.</summary>
    public static string ServiceDll(string service, string assembly)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var dll = Path("services", service, "bin", configuration, "net10.0", assembly + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"Build the solution first: {dll} is missing");
    }

    public static string SampleFlows => Path("services", "collector", "Fixtures", "sample-flows.jsonl");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Egressd.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Egressd.sln not found above " + AppContext.BaseDirectory);
    }
}
