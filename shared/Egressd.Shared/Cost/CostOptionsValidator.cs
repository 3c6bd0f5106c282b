using Egressd.Shared.Network;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Cost;

/// <summary>Checks every price, class, selector and range at start, one line per mistake naming the setting.</summary>
internal sealed class CostOptionsValidator : IValidateOptions<CostOptions>
{
    private const string PriceExample = "a price such as 0.01/GB or 0.01/GiB (dollars, at most 9 decimals and 1000 per unit), or free";

    public ValidateOptionsResult Validate(string? name, CostOptions options)
    {
        var errors = new List<string>();
        const string section = CostOptions.Section;

        if (!Enum.IsDefined(options.Provider))
        {
            errors.Add($"{section}:Provider must be Auto, Aws, Gcp, Azure or None (got '{options.Provider}')");
        }

        CheckClassPrices(options.Prices, $"{section}:Prices", errors);
        CheckClassPrices(options.IngressPrices, $"{section}:IngressPrices", errors);
        foreach (var (region, prices) in options.RegionPrices)
        {
            CheckClassPrices(prices, $"{section}:RegionPrices:{region}", errors);
        }

        foreach (var (from, prices) in options.RegionPairPrices)
        {
            foreach (var (to, text) in prices)
            {
                CheckPrice(text, $"{section}:RegionPairPrices:{from}:{to}", errors);
            }
        }

        if (options.NatPrice is not null)
        {
            CheckPrice(options.NatPrice, $"{section}:NatPrice", errors);
        }

        if (!NodeSelector.TryParse(options.Nat.NodeSelector, out _))
        {
            errors.Add($"{section}:Nat:NodeSelector must be labels such as topology.kubernetes.io/zone=us-east-1a,node-role=private (got '{options.Nat.NodeSelector}')");
        }

        CidrSet.Validate(options.Nat.NodeCidrs, $"{section}:Nat:NodeCidrs", errors);

        for (var i = 0; i < options.Destinations.Count; i++)
        {
            CheckDestination(options.Destinations[i], $"{section}:Destinations:{i}", errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckDestination(CostDestinationOptions destination, string setting, List<string> errors)
    {
        if (destination.Cidrs.Count == 0)
        {
            errors.Add($"{setting}:Cidrs must name at least one CIDR such as 10.0.0.0/8");
        }

        CidrSet.Validate(destination.Cidrs, $"{setting}:Cidrs", errors);

        var hasPrice = !string.IsNullOrWhiteSpace(destination.Price);
        var hasClass = !string.IsNullOrWhiteSpace(destination.Class);
        var hasPlace = !string.IsNullOrWhiteSpace(destination.Zone) || !string.IsNullOrWhiteSpace(destination.Region);
        if ((hasPrice ? 1 : 0) + (hasClass ? 1 : 0) + (hasPlace ? 1 : 0) != 1)
        {
            errors.Add($"{setting} must set exactly one of Price, Class, or Zone and Region");
        }

        if (hasPrice)
        {
            CheckPrice(destination.Price, $"{setting}:Price", errors);
        }

        if (hasClass && !TrafficClasses.TryParse(destination.Class, out _))
        {
            errors.Add($"{setting}:Class must be one of {TrafficClasses.Names} (got '{destination.Class}')");
        }
    }

    private static void CheckClassPrices(Dictionary<string, string> prices, string setting, List<string> errors)
    {
        foreach (var (trafficClass, text) in prices)
        {
            if (!TrafficClasses.TryParse(trafficClass, out _))
            {
                errors.Add($"{setting}:{trafficClass} is not a traffic class: use one of {TrafficClasses.Names}");
            }

            CheckPrice(text, $"{setting}:{trafficClass}", errors);
        }
    }

    private static void CheckPrice(string? text, string setting, List<string> errors)
    {
        if (!BytePrice.TryParse(text, out _))
        {
            errors.Add($"{setting} must be {PriceExample} (got '{text}')");
        }
    }
}
