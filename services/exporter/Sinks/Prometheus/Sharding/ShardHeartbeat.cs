namespace Egressd.Exporter.Sinks.Prometheus.Sharding;

/// <summary>What each exporter replica running the Prometheus sink says, every heartbeat interval, to the others.</summary>
/// <param name="Replica">The sender's name, unique per process.</param>
/// <param name="Shards">The sender's <c>Egressd:Exporter:Prometheus:Shards</c>, so a replica configured otherwise is noticed.</param>
public sealed record ShardHeartbeat(string Replica, int Shards);
