using Egressd.Contracts;
using Egressd.Enricher.Enrichment;

namespace Egressd.Tests.Enricher;

public sealed class DnsOnlyEnricherTests
{
    [Fact]
    public void Keeps_id_and_flows_and_names_destinations_from_the_freshest_answer()
    {
        var now = DateTimeOffset.UtcNow;
        var flow = new FlowRecord { SourceIp = "10.0.0.1", DestinationIp = "198.18.0.9", Protocol = 6, TxBytes = 1, RxBytes = 2, TxPackets = 3, RxPackets = 4 };
        var other = flow with { DestinationIp = "10.0.0.2" };
        var batch = new FlowBatchCollected
        {
            Id = new BatchId { Node = "n", BootId = "b", Window = 1, Part = 0, PartCount = 1 },
            Node = "n",
            WindowStart = now.AddSeconds(-5),
            WindowEnd = now,
            Source = FlowSource.Netfilter,
            Flows = [flow, other],
            DnsAnswers =
            [
                new DnsAnswer { Ip = "198.18.0.9", Name = "old.example.com", ExpiresAt = now.AddSeconds(10) },
                new DnsAnswer { Ip = "198.18.0.9", Name = "new.example.com", ExpiresAt = now.AddSeconds(60) },
            ],
        };

        var enriched = new DnsOnlyEnricher().Enrich(batch);

        Assert.Equal(batch.Id, enriched.Id);
        Assert.Equal([flow, other], enriched.Flows.Select(f => f.Flow));
        Assert.Equal("new.example.com", enriched.Flows[0].DestinationDnsName);
        Assert.Null(enriched.Flows[1].DestinationDnsName);
        Assert.Equal(FlowSource.Netfilter, enriched.Source);
    }
}
