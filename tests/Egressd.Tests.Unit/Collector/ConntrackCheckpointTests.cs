using System.Runtime.Versioning;
using Egressd.Collector.Flows;
using Egressd.Collector.Pods;
using Egressd.Contracts;
using Egressd.Shared.Network;
using Egressd.Shared.Wire;
using Egressd.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Egressd.Tests.Collector;

/// <summary>
/// The restart checkpoint's window parts: saved as the bodies a frozen window is sent as, read back
/// by a new process under their own ids and sent as the same bytes.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ConntrackCheckpointTests
{
    private const string BpfRoot = "/sys/fs/bpf/egressd-checkpoint-test";

    private sealed class NoPods : ILocalPods
    {
        public string Description => "test";

        public bool Contains(IpAddr address) => false;
    }

    private static ConntrackCheckpoint Open(string state) =>
        ConntrackCheckpoint.OpenForCilium(state, BpfRoot, new ConntrackReducer(new NoPods(), new PublicAddresses(CidrSet.Parse(["10.0.0.0/8"])), false, new PendingFlows()),
            DateTimeOffset.UtcNow, NullLogger.Instance, TestMetrics.Collector(), () => "Split", _ => { })!;

    private static IReadOnlyList<EncodedFlowBatch> Window()
    {
        var pending = new PendingFlows();
        for (var i = 1; i <= 5; i++)
        {
            pending.Add(new FlowKey(IpAddr.Parse("10.0.0.1"), IpAddr.Parse($"10.0.1.{i}"), i == 2 ? IpAddr.Parse("10.96.0.1") : IpAddr.None, 6), new FlowCounters((ulong)i, 2, 3, 4));
        }

        pending.Add(new FlowKey(IpAddr.Parse("fd00::1"), IpAddr.Parse("2001:db8::1"), IpAddr.None, 17), new FlowCounters(70, 80, 1, 1));
        var start = new DateTimeOffset(2026, 11, 28, 0, 0, 0, TimeSpan.Zero);
        pending.AddDnsAnswer(IpAddr.Parse("2001:db8::1"), "example.org", start.AddHours(1));
        return pending.FreezeEncoded("node-a", "boot-a", 7, FlowSource.Cilium, start, start.AddSeconds(5), 4);
    }

    [Fact]
    public void Unconfirmed_parts_come_back_under_their_ids_and_are_sent_as_the_same_bytes()
    {
        var state = Directory.CreateTempSubdirectory("egressd-checkpoint-").FullName;
        var parts = Window();
        Assert.Equal(2, parts.Count);
        Open(state).Save(parts);

        var restarted = Open(state);
        Assert.Equal(parts.Select(p => p.Header), restarted.Unconfirmed.Select(p => p.Header));
        for (var i = 0; i < parts.Count; i++)
        {
            Assert.Equal(parts[i].FlowCount, restarted.Unconfirmed[i].FlowCount);
            Assert.Equal(parts[i].Body.ToArray(), restarted.Unconfirmed[i].Body.ToArray());
        }

        Assert.Equal("example.org", Assert.Single(restarted.Unconfirmed[0].Decode().DnsAnswers).Name);
        restarted.Confirmed();
        Assert.Empty(Open(state).Unconfirmed);
    }
}
