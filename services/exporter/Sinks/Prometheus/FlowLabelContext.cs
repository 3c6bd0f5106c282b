using Egressd.Contracts;
using Egressd.Shared.Network;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>What label values need beyond the flow itself.</summary>
internal sealed class FlowLabelContext(PublicAddresses publicAddresses)
{
    /// <summary>"private" or "public", as <see cref="PublicAddresses.ContainsDestination"/> decides.</summary>
    public string DestinationIpType(in EnrichedFlow flow) =>
        publicAddresses.ContainsDestination(flow) ? FlowLabels.Public : FlowLabels.Private;
}
