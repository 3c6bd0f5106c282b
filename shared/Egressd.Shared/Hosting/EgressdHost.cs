using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Hosting;

/// <summary>How every egressd process starts: the service defaults, the service's own wiring, its endpoints.</summary>
public static partial class EgressdHost
{
    /// <summary>
    /// Builds the service, checks every option before anything runs, and runs until SIGTERM. A bad
    /// setting stops the process with one line naming it on standard error and exit code 2,
    /// instead of a stack trace or a failure at the first message.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, string service, int defaultPort, Action<WebApplicationBuilder> wire)
    {
        WebApplication app;
        try
        {
            app = Build(args, service, defaultPort, wire);
        }
        catch (Exception ex) when (ConfigurationError(ex) is { } message)
        {
            await Console.Error.WriteLineAsync($"{service}: configuration error: {message}");
            return 2;
        }

        await using (app)
        {
            // Running disposes the container: take what the end needs before.
            var http = app.Services.GetRequiredService<IOptions<HttpOptions>>().Value;
            var background = app.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();
            try
            {
                await app.RunAsync();
            }
            catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                await Console.Error.WriteLineAsync(
                    $"{service}: configuration error: port {http.Port} on {http.BindAddress} is already in use; set {HttpOptions.Section}:Port to a free one");
                return 2;
            }
            catch (OperationCanceledException) when (background.Any(s => s.ExecuteTask is { IsFaulted: true }))
            {
                // A background service crashed while the host was still starting: the stop it asked
                // for cancelled the start. The crash is the story, and it is below.
            }

            // A service that stops itself for a fatal reason sets Environment.ExitCode first; a
            // background service that crashed stops the host too, and must not look like a clean stop.
            var crashed = background.Any(s => s.ExecuteTask is { IsFaulted: true });
            return Environment.ExitCode != 0 ? Environment.ExitCode : crashed ? 1 : 0;
        }
    }

    /// <summary>A built and validated service, not yet started (tests start it in-process).</summary>
    public static WebApplication Build(string[] args, string service, int defaultPort, Action<WebApplicationBuilder> wire)
    {
        // Only what egressd uses: settings from the environment and the command line, log levels
        // from Logging:*, and Kestrel for three endpoints. The slim builder adds host filtering,
        // forwarded headers and routing, which cost the collector memory for features it never uses.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = args });
        builder.Configuration.AddEnvironmentVariables().AddCommandLine(args);
        builder.WebHost.UseKestrelCore();
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.AddEgressdDefaults(service, defaultPort);
        wire(builder);
        var app = builder.Build();
        app.Services.GetService<IStartupValidator>()?.Validate();
        app.MapEgressdEndpoints();
        return app;
    }

    private static string? ConfigurationError(Exception exception) => exception switch
    {
        OptionsValidationException validation => string.Join("; ", validation.Failures),
        // The binder's own errors ("Failed to convert configuration value '...' at 'Egressd:...'") name the key.
        InvalidOperationException binding when binding.Message.Contains("configuration value", StringComparison.Ordinal) => WithChoices(binding.Message),
        AggregateException aggregate when aggregate.InnerExceptions.Count == 1 => ConfigurationError(aggregate.InnerException!),
        _ when exception.InnerException is not null => ConfigurationError(exception.InnerException),
        _ => null,
    };

    /// <summary>For a setting that takes one of a few names (an enum), the binder's line plus the names it takes.</summary>
    private static string WithChoices(string message)
    {
        var match = BinderTarget().Match(message);
        var type = match.Success
            ? AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(match.Groups[1].Value)).FirstOrDefault(t => t is not null)
            : null;
        return type is { IsEnum: true }
            ? $"{message.TrimEnd('.')}: it must be one of {string.Join(", ", Enum.GetNames(type))} (any case)"
            : message;
    }

    [GeneratedRegex("to type '([^']+)'")]
    private static partial Regex BinderTarget();
}
