using Egressd.Contracts;
using Egressd.Shared.Bus;
using Egressd.Tests.Infrastructure;
using MassTransit;

namespace Egressd.Tests.Bus;

/// <summary>A publish nobody can receive must fail, so the collector keeps the window instead of losing it.</summary>
[Collection(BrokerCollection.Name)]
public sealed class MandatoryPublishTests(RabbitMqBroker broker)
{
    public sealed record UnroutedProbe
    {
        public required string Text { get; init; }
    }

    [Fact]
    public async Task Publish_with_no_queue_bound_fails_instead_of_vanishing()
    {
        var settings = await broker.BusSettingsAsync();
        await using var host = await InProcessHost.StartAsync("probe", b => b.AddEgressdBus(_ => { }), settings);
        var bus = host.Services.GetRequiredService<IBusControl>();
        Assert.True(await Eventually.TrueAsync(() => bus.CheckHealth().Status == BusHealthStatus.Healthy, TimeSpan.FromSeconds(60)));

        var id = new BatchId { Node = "probe", BootId = Guid.NewGuid().ToString("N"), Window = 1, Part = 0, PartCount = 1 };
        var error = await Record.ExceptionAsync(() => bus.PublishBatchAsync(new UnroutedProbe { Text = "nobody listens" }, id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));

        Assert.NotNull(error);
        Assert.IsNotType<TimeoutException>(error);
    }
}
