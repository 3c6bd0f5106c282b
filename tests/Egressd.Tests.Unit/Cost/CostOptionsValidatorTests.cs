using Egressd.Shared.Cost;
using Microsoft.Extensions.Options;

namespace Egressd.Tests.Cost;

/// <summary>A bad cost setting is refused at start with one line naming it.</summary>
public sealed class CostOptionsValidatorTests
{
    [Theory]
    [InlineData("Egressd:Cost:Prices:cross-zone", "0.01", "Egressd:Cost:Prices:cross-zone must be a price such as 0.01/GB")]
    [InlineData("Egressd:Cost:Prices:cross-zon", "0.01/GB", "Egressd:Cost:Prices:cross-zon is not a traffic class: use one of unknown, same-node")]
    [InlineData("Egressd:Cost:IngressPrices:internet", "-1/GB", "Egressd:Cost:IngressPrices:internet must be a price")]
    [InlineData("Egressd:Cost:RegionPrices:sa-east-1:internet", "0.15/TB", "Egressd:Cost:RegionPrices:sa-east-1:internet must be a price")]
    [InlineData("Egressd:Cost:RegionPairPrices:us-east-1:eu-west-1", "cheap", "Egressd:Cost:RegionPairPrices:us-east-1:eu-west-1 must be a price")]
    [InlineData("Egressd:Cost:NatPrice", "0.0450000001/GB", "Egressd:Cost:NatPrice must be a price")]
    [InlineData("Egressd:Cost:Nat:NodeSelector", "private", "Egressd:Cost:Nat:NodeSelector must be labels")]
    [InlineData("Egressd:Cost:Nat:NodeCidrs:0", "10.0.0.1/8", "Egressd:Cost:Nat:NodeCidrs:0 '10.0.0.1/8' has host bits set")]
    [InlineData("Egressd:Cost:Destinations:0:Price", "free", "Egressd:Cost:Destinations:0:Cidrs must name at least one CIDR")]
    public void A_bad_setting_gets_one_line_naming_it(string key, string value, string error)
    {
        var result = Validate(new() { [key] = value });

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith(error, failure, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure);
    }

    [Fact]
    public void A_destination_sets_exactly_one_way_of_pricing()
    {
        var both = Validate(new()
        {
            ["Egressd:Cost:Destinations:0:Cidrs:0"] = "10.0.0.0/8",
            ["Egressd:Cost:Destinations:0:Price"] = "free",
            ["Egressd:Cost:Destinations:0:Class"] = "cross-zone",
        });
        var badClass = Validate(new()
        {
            ["Egressd:Cost:Destinations:0:Cidrs:0"] = "10.0.0.0/8",
            ["Egressd:Cost:Destinations:0:Class"] = "far-away",
        });
        var neither = Validate(new() { ["Egressd:Cost:Destinations:0:Cidrs:0"] = "10.0.0.0/8" });

        Assert.Equal(["Egressd:Cost:Destinations:0 must set exactly one of Price, Class, or Zone and Region"], both.Failures);
        Assert.Equal(["Egressd:Cost:Destinations:0:Class must be one of unknown, same-node, same-zone, cross-zone, cross-region, internet, private-external (got 'far-away')"], badClass.Failures);
        Assert.Equal(["Egressd:Cost:Destinations:0 must set exactly one of Price, Class, or Zone and Region"], neither.Failures);
    }

    [Fact]
    public void The_defaults_and_a_full_configuration_pass()
    {
        Assert.True(Validate([]).Succeeded);
        Assert.True(Validate(new()
        {
            ["Egressd:Cost:Enabled"] = "true",
            ["Egressd:Cost:Provider"] = "aws",
            ["Egressd:Cost:Region"] = "us-east-1",
            ["Egressd:Cost:Prices:cross-zone"] = "0.01/GB",
            ["Egressd:Cost:IngressPrices:cross-zone"] = "0.01/GB",
            ["Egressd:Cost:RegionPrices:sa-east-1:internet"] = "0.15/GB",
            ["Egressd:Cost:RegionPairPrices:us-east-1:us-east-2"] = "0.01/GB",
            ["Egressd:Cost:NatPrice"] = "0.045/GB",
            ["Egressd:Cost:Nat:Enabled"] = "true",
            ["Egressd:Cost:Nat:NodeSelector"] = "egressd.io/subnet=private",
            ["Egressd:Cost:Nat:NodeCidrs:0"] = "10.0.0.0/16",
            ["Egressd:Cost:Destinations:0:Cidrs:0"] = "10.50.0.0/16",
            ["Egressd:Cost:Destinations:0:Price"] = "free",
            ["Egressd:Cost:Destinations:1:Cidrs:0"] = "10.70.1.0/24",
            ["Egressd:Cost:Destinations:1:Zone"] = "us-east-1a",
        }).Succeeded);
    }

    [Fact]
    public void The_host_binds_and_checks_the_settings_at_start()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Egressd:Cost:Prices:internet"] = "0.05/GB" })
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddEgressdCost();
        services.AddEgressdCost();

        using var provider = services.BuildServiceProvider();
        var model = provider.GetRequiredService<PriceModel>();
        Assert.Equal(BytePrice.PerGigabyte(0.05m), model.Table(CloudProvider.Aws).Egress(Egressd.Contracts.TrafficClass.Internet));
        Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<CostOptions>));
    }

    private static ValidateOptionsResult Validate(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddEgressdCost();
        using var provider = services.BuildServiceProvider();
        var options = PriceOverrideTests.Bind(settings);
        return provider.GetRequiredService<IValidateOptions<CostOptions>>().Validate(null, options);
    }
}
