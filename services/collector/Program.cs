using Egressd.Collector;
using Egressd.Shared.Hosting;

return await EgressdHost.RunAsync(args, "egressd-collector", defaultPort: 6061, builder => builder.AddCollector());
