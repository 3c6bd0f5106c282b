using Egressd.Exporter;
using Egressd.Shared.Hosting;

return await EgressdHost.RunAsync(args, "egressd-exporter", defaultPort: 6060, builder => builder.AddExporter());
