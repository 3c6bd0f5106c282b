using Egressd.Benchmarks;

// One benchmark per argument; each prints a Markdown table of figures measured side by side.
return args switch
{
    ["conntrack", .. var rest] when OperatingSystem.IsLinux() => await ConntrackBenchmark.RunAsync(rest),
    ["enricher", .. var rest] => await EnricherBenchmark.RunAsync(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: sudo dotnet run -c Release --project tests/Egressd.Benchmarks -- conntrack [--entries N] [--rss-entries N] | enricher [--batches N]");
    return 2;
}
