using Egressd.Contracts;

namespace Egressd.Tests.Infrastructure;

/// <summary>What one read of a flow source gave: the flows and the DNS answers.</summary>
internal sealed record FlowReadingFixture(IReadOnlyList<FlowRecord> Flows, IReadOnlyList<DnsAnswer> Answers);
