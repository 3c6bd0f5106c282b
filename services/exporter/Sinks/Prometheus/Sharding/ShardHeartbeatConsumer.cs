using MassTransit;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.Prometheus.Sharding;

internal sealed partial class ShardHeartbeatConsumer(ShardMembership membership, IOptions<PrometheusOptions> options, ILogger<ShardHeartbeatConsumer> logger)
    : IConsumer<ShardHeartbeat>
{
    public Task Consume(ConsumeContext<ShardHeartbeat> context)
    {
        var heartbeat = context.Message;
        var shards = options.Value.Shards;
        if (heartbeat.Shards != shards)
        {
            // Two splits of the same queues would leave some shards with no replica: the odd one is left out.
            LogMismatch(logger, heartbeat.Replica, heartbeat.Shards, shards);
            return Task.CompletedTask;
        }

        membership.Heard(heartbeat.Replica);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 3503, Level = LogLevel.Error,
        Message = "Exporter replica {Replica} runs with Egressd:Exporter:Prometheus:Shards={Theirs}, this one with {Ours}: every replica needs the same value; it is left out of the split")]
    private static partial void LogMismatch(ILogger logger, string replica, int theirs, int ours);
}
