using Egressd.Shared.Network;
using Microsoft.Extensions.Options;

namespace Egressd.Tests.Configuration;

public sealed class NetworkOptionsBindingTests
{
    [Fact]
    public void Services_sharing_a_process_bind_the_private_ranges_once()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Egressd:Network:PrivateCidrs:0"] = "10.0.0.0/8" })
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);

        // The collector and the exporter both ask for it in the all-in-one runner.
        services.AddEgressdNetwork();
        services.AddEgressdNetwork();

        var options = services.BuildServiceProvider().GetRequiredService<IOptions<NetworkOptions>>().Value;
        Assert.Equal(["10.0.0.0/8"], options.PrivateCidrs);
    }
}
