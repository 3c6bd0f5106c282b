using System.Net;
using Egressd.Shared.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>The HTTP sinks' wiring: their options, one queue per sink, one resilient client per sink.</summary>
internal static partial class HttpSinkHostingExtensions
{
    public static IServiceCollection AddHttpSinks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HttpSinksOptions>().BindConfiguration(HttpSinksOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HttpSinksOptions>, HttpSinksOptionsValidator>();
        var options = configuration.HttpSinksSettings();
        var names = options.HttpSinkNames();
        if (names.Count == 0)
        {
            return services;
        }

        for (var i = 0; i < names.Count; i++)
        {
            services.AddSinkClient(names[i]);
            var index = i;
            services.AddSingleton(sp =>
            {
                var sink = sp.GetRequiredService<HttpSinks>()[index];
                var settings = sink.Settings;
                return new SinkQueue
                {
                    Sink = settings.Name,
                    Queue = settings.Queue,
                    Consumer = FlowSinkConsumer.For(sp, settings.Name, sink),
                    // An interval's batches are all held (unacknowledged) until its request succeeds.
                    HeldBatches = settings.Interval > TimeSpan.Zero ? settings.MaxPendingBatches : null,
                };
            });
        }

        services.AddMetrics<HttpSinkMetrics>();
        services.AddSingleton<HttpSinks>();
        services.AddHostedService<HttpSinkFlusher>();
        return services;
    }

    private static void AddSinkClient(this IServiceCollection services, string name)
    {
        HttpSinkSettings Settings(IServiceProvider provider)
        {
            var all = provider.GetRequiredService<IOptions<HttpSinksOptions>>().Value;
            return HttpSinkSettings.Resolve(name, all.Sinks[name].Http!, all.ExportInterval, [])!;
        }

        var client = services.AddHttpClient(HttpSinks.ClientName(name))
            .ConfigureHttpClient((provider, http) =>
            {
                http.BaseAddress = Settings(provider).Url;
                // The resilience pipeline times each attempt and the whole; no second clock.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            // A redirect would carry the headers (credentials) to another host: it is parked instead.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                AutomaticDecompression = DecompressionMethods.None,
            })
            // The default request logs print the URL, which may carry a ${VAR} secret.
            .RemoveAllLoggers()
            .AddHttpMessageHandler(provider => new SinkAddressHandler(Settings(provider).Url));
        client.AddResilienceHandler($"http-sink-{name}", (pipeline, context) =>
            {
                var settings = Settings(context.ServiceProvider);
                var logger = context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Egressd.Exporter.Sinks.Http.HttpSink");
                var metrics = context.ServiceProvider.GetRequiredService<HttpSinkMetrics>();
                // Outermost: past retry:maxTime the request stops and its batches are parked.
                pipeline.AddTimeout(settings.RetryMaxTime);
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    // Bounded by time, not by count.
                    MaxRetryAttempts = int.MaxValue,
                    Delay = settings.RetryInitialDelay,
                    MaxDelay = settings.RetryMaxDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    ShouldRetryAfterHeader = true,
                    ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome)),
                    OnRetry = args =>
                    {
                        metrics.Retries.WithLabels(name).Inc();
                        if (args.Outcome.Exception is BrokenCircuitException)
                        {
                            metrics.Failures.WithLabels(name, "circuit-open").Inc();
                        }

                        LogRetry(logger, name, settings.Destination, args.AttemptNumber + 1, Describe(args.Outcome), args.RetryDelay);
                        return ValueTask.CompletedTask;
                    },
                });
                // A receiver that keeps failing is left alone for a while instead of being hit by every retry.
                pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = 0.9,
                    MinimumThroughput = 5,
                    SamplingDuration = TimeSpan.FromSeconds(30),
                    BreakDuration = TimeSpan.FromSeconds(5),
                    ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome)),
                });
                // egressd's timeout: one attempt.
                pipeline.AddTimeout(settings.Timeout);
            });
        // Below the pipeline: it sees each attempt.
        client.AddHttpMessageHandler(provider => new AttemptHandler(name, provider.GetRequiredService<HttpSinkMetrics>()));
    }

    /// <summary>Transport errors, attempt timeouts, an open circuit, 408, 429 and 5xx are worth another attempt; other answers are final.</summary>
    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException or BrokenCircuitException } => true,
        { Exception: not null } => false,
        { Result: { } response } => (int)response.StatusCode is 408 or 429 or >= 500,
        _ => false,
    };

    private static string Describe(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: TimeoutRejectedException } => "attempt timed out",
        { Exception: BrokenCircuitException } => "circuit open",
        { Exception: HttpRequestException e } => $"transport error {e.HttpRequestError}",
        { Exception: { } e } => e.GetType().Name,
        { Result: { } response } => $"{(int)response.StatusCode} {response.ReasonPhrase}",
        _ => "unknown",
    };

    [LoggerMessage(EventId = 3408, Level = LogLevel.Warning, Message = "Sink {Sink} ({Destination}): {Outcome}; attempt {Attempt} in {Delay}")]
    private static partial void LogRetry(ILogger logger, string sink, string destination, int attempt, string outcome, TimeSpan delay);
}
