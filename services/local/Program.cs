using Egressd.Local;
using Egressd.Shared.Hosting;

return await EgressdHost.RunAsync(args, "egressd", defaultPort: 6060, builder => builder.AddAllInOne());
