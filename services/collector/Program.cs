using Egressd.Collector;
using Egressd.Shared.Hosting;

if (CollectorCommands.IsCommand(args))
{
    return CollectorCommands.Run(args, Console.Out, Console.Error);
}

return await EgressdHost.RunAsync(args, "egressd-collector", defaultPort: 6061, builder => builder.AddCollector());
