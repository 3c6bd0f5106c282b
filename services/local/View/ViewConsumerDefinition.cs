using MassTransit;

namespace Egressd.Local.View;

/// <summary>Names the view's endpoint after it; nothing else consumes from there.</summary>
internal sealed class ViewConsumerDefinition : ConsumerDefinition<ViewConsumer>
{
    public ViewConsumerDefinition() => EndpointName = "egressd-local-view";
}
