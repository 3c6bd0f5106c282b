using Egressd.Shared.Hosting;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.FlowLog;

/// <summary>The flow-log sink's wiring: its options, the sink, its queue.</summary>
internal static class FlowLogHostingExtensions
{
    public static IServiceCollection AddFlowLogSink(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FlowLogOptions>().BindConfiguration(FlowLogOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FlowLogOptions>, FlowLogOptionsValidator>();
        if (!configuration.FlowLogSettings().Enabled)
        {
            return services;
        }

        services.AddMetrics<FlowLogMetrics>();
        services.AddSingleton<FlowLogSink>();
        services.AddSingleton(sp =>
        {
            var sink = sp.GetRequiredService<FlowLogSink>();
            return new SinkQueue
            {
                Sink = FlowLogSink.Name,
                Queue = SinkQueue.NameOf(FlowLogSink.Name),
                // One dedup: the ids the file holds.
                Consumer = FlowSinkConsumer.For(sp, FlowLogSink.Name, sink, sink.Applied),
                // Batches are written one at a time (one file): one written, the next decoded.
                ConcurrentBatches = 2,
            };
        });
        services.AddHostedService<FlowLogStartup>();
        return services;
    }
}
