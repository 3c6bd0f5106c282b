using Egressd.Contracts;
using Egressd.Shared.Network;

namespace Egressd.Shared.Cost;

/// <summary>A checked <see cref="CostDestinationOptions"/>.</summary>
internal sealed class CostDestination
{
    public required CidrSet Networks { get; init; }

    public required CostDestinationKind Kind { get; init; }

    public BytePrice Price { get; init; }

    public TrafficClass Class { get; init; }

    public string? Zone { get; init; }

    public string? Region { get; init; }

    /// <param name="options">Already checked by the options validator: a price or class it refuses throws.</param>
    public static CostDestination From(CostDestinationOptions options)
    {
        var networks = CidrSet.Parse(options.Cidrs);
        if (!string.IsNullOrWhiteSpace(options.Price))
        {
            if (!BytePrice.TryParse(options.Price, out var price))
            {
                throw new FormatException($"not a price: '{options.Price}'");
            }

            return new() { Networks = networks, Kind = price.IsFree ? CostDestinationKind.Free : CostDestinationKind.Priced, Price = price };
        }

        if (!string.IsNullOrWhiteSpace(options.Class))
        {
            if (!TrafficClasses.TryParse(options.Class, out var trafficClass))
            {
                throw new FormatException($"not a traffic class: '{options.Class}'");
            }

            return new() { Networks = networks, Kind = CostDestinationKind.Classed, Class = trafficClass };
        }

        return new()
        {
            Networks = networks,
            Kind = CostDestinationKind.Placed,
            Zone = string.IsNullOrWhiteSpace(options.Zone) ? null : options.Zone.Trim(),
            Region = string.IsNullOrWhiteSpace(options.Region) ? null : options.Region.Trim(),
        };
    }

    /// <summary>The class of traffic from a node in <paramref name="local"/> to this rule's zone and region.</summary>
    public TrafficClass ClassFrom(NodePlacement local)
    {
        if (Region is not null && local.Region is not null && Region != local.Region)
        {
            return TrafficClass.CrossRegion;
        }

        if (Zone is null)
        {
            // In the sender's region, zone unknown: priced as crossing zones, the dearer of the two.
            return Region is not null && local.Region is not null ? TrafficClass.CrossZone : TrafficClass.Unknown;
        }

        return local.Zone is null ? TrafficClass.Unknown
            : Zone == local.Zone ? TrafficClass.SameZone
            : TrafficClass.CrossZone;
    }
}
