namespace Egressd.Benchmarks;

/// <summary>A benchmark's temporary directory: removed when disposed, however the run ends, and on Ctrl+C or SIGTERM.</summary>
internal sealed class WorkDirectory : IDisposable
{
    private readonly IDisposable undo;

    private WorkDirectory(string path)
    {
        Path = path;
        undo = Teardown.Add($"the work directory {path}", Remove);
    }

    public string Path { get; }

    public static WorkDirectory Create(string prefix) => new(Directory.CreateTempSubdirectory(prefix).FullName);

    public void Dispose()
    {
        Remove();
        undo.Dispose();
    }

    private void Remove()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
