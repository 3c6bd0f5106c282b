using Egressd.Enricher;
using Egressd.Shared.Hosting;

return await EgressdHost.RunAsync(args, "egressd-enricher", defaultPort: 6062, builder => builder.AddEnricher());
