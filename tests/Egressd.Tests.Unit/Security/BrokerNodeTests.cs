using Egressd.Shared.Bus;

namespace Egressd.Tests.Security;

/// <summary>How one Egressd:Bus:RabbitMq:Hosts entry is read.</summary>
public sealed class BrokerNodeTests
{
    [Theory]
    [InlineData("rabbit-0.rabbit-nodes.egressd", "rabbit-0.rabbit-nodes.egressd", 5672)]
    [InlineData(" rabbit-1:5671 ", "rabbit-1", 5671)]
    [InlineData("10.0.0.7:25672", "10.0.0.7", 25672)]
    [InlineData("fd00::7", "fd00::7", 5672)]
    [InlineData("[fd00::7]:5671", "fd00::7", 5671)]
    public void An_entry_gives_the_host_and_the_port_or_the_default(string entry, string host, int port) =>
        Assert.Equal(new BrokerNode(host, port), BrokerNode.Parse(entry, 5672));

    [Theory]
    [InlineData("amqp://user:password@rabbit:5672/")]
    [InlineData("rabbit:0")]
    [InlineData("rabbit:65536")]
    [InlineData("rabbit:")]
    [InlineData("[fd00::7")]
    [InlineData("[fd00::7]5671")]
    [InlineData("")]
    public void Anything_else_is_refused(string entry) => Assert.Null(BrokerNode.Parse(entry, 5672));
}
