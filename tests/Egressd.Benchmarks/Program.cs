using Egressd.Benchmarks;

// Ctrl+C or SIGTERM still stops the services, broker and cgroups a run started.
using var signals = Teardown.OnSignals();

// One benchmark per argument; each prints a Markdown table of figures measured side by side.
return args switch
{
    ["conntrack", .. var rest] when OperatingSystem.IsLinux() => await ConntrackBenchmark.RunAsync(rest),
    ["collector-memory", .. var rest] => await CollectorMemoryBenchmark.RunAsync(rest),
    ["collector-footprint", .. var rest] => await CollectorFootprintBenchmark.RunAsync(rest),
    ["cilium", .. var rest] when OperatingSystem.IsLinux() => CiliumBenchmark.Run(rest),
    ["host-network-churn", .. var rest] when OperatingSystem.IsLinux() => await HostNetworkChurnBenchmark.RunAsync(rest),
    ["dns", .. var rest] when OperatingSystem.IsLinux() => DnsBenchmark.Run(rest),
    ["enricher", .. var rest] => await EnricherBenchmark.RunAsync(rest),
    ["exporter", .. var rest] => await ExporterBenchmark.RunAsync(rest),
    ["flow-log", .. var rest] => FlowLogBenchmark.Run(rest),
    ["http-sink", .. var rest] => await HttpSinkBenchmark.RunAsync(rest),
    ["pipeline", .. var rest] => await PipelineBenchmark.RunAsync(rest),
    ["scale", .. var rest] => await ScaleBenchmark.RunAsync(rest),
    ["self-metrics", .. var rest] => SelfMetricsBenchmark.Run(rest),
    ["wire", .. var rest] => WireBenchmark.Run(rest),
    ["exporter-child", var impl, var series] => await ExporterBenchmark.ChildAsync(impl, int.Parse(series, System.Globalization.CultureInfo.InvariantCulture)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: sudo dotnet run -c Release --project tests/Egressd.Benchmarks -- conntrack [--entries N] [--rss-entries N] | collector-footprint [--build DIR] [-p:NAME=VALUE] [--env NAME=VALUE] | cilium [--entries N] | host-network-churn [--seconds 30] [--interval 5] [--clients 2] [--rounds 1] [--new-events 1] | dns [--seconds N] | enricher [--batches N]");
    Console.Error.WriteLine("       dotnet run -c Release --project tests/Egressd.Benchmarks -- exporter [--series 100000,1000000] | http-sink [--flows 500000] [--rounds 5] | flow-log [--seconds 5] [--dir D]");
    Console.Error.WriteLine("       dotnet run -c Release --project tests/Egressd.Benchmarks -- pipeline [--flows 100000] [--pods 5000] [--seconds 30] [--warmup 15] [--offer FLOWS_PER_SECOND] | wire | self-metrics [--scrapes 2000]");
    Console.Error.WriteLine("       sudo dotnet run -c Release --project tests/Egressd.Benchmarks -- scale [--nodes 5000] [--flows-per-node 1000] [--pods 150000] [--services 20000] [--churn 50] [--enrichers 2] [--exporters 2] [--shards 4] [--enricher-mib 256] [--warmup 30] [--seconds 60]");
    return 2;
}
