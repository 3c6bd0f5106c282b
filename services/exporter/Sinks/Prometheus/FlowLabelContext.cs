using Egressd.Contracts;
using Egressd.Shared.Network;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>What label values need beyond the flow itself.</summary>
internal sealed class FlowLabelContext(CidrSet privateNetworks)
{
    /// <summary>
    /// "private" or "public". The enricher's class decides when it knows; until it does (it leaves
    /// the class unknown), the destination address against the private ranges, as egressd does.
    /// </summary>
    public string DestinationIpType(in EnrichedFlow flow) => flow.TrafficClass switch
    {
        TrafficClass.Internet => FlowLabels.Public,
        TrafficClass.Unknown => privateNetworks.Contains(flow.Flow.DestinationIp)
            ? FlowLabels.Private
            : FlowLabels.Public,
        _ => FlowLabels.Private,
    };
}
