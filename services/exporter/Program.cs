using Egressd.Exporter;
using Egressd.Exporter.CostReport;
using Egressd.Shared.Hosting;

if (CostReportCommand.IsCommand(args))
{
    return await CostReportCommand.RunAsync(args, Console.Out, Console.Error);
}

return await EgressdHost.RunAsync(args, "egressd-exporter", defaultPort: 6060, builder => builder.AddExporter());
