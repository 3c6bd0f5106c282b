using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;

namespace Egressd.Exporter;

/// <summary>
/// egressd's exporter config file (<c>Egressd:Exporter:ConfigFile</c>, e.g.
/// <c>/etc/egressd/config/config.yaml</c>), read through the configuration system under
/// <c>Egressd:Exporter</c>: its <c>sinks:</c> map becomes <c>Egressd:Exporter:Sinks</c>. It sits
/// just before the environment variables, so as in egressd the environment (and the command line)
/// overrides the file.
/// </summary>
internal static class ExporterConfigFile
{
    private const string Setting = $"{ExporterOptions.Section}:ConfigFile";

    public static void AddExporterConfigFile(this IConfigurationBuilder builder, IConfiguration configuration)
    {
        var path = configuration[Setting];
        if (string.IsNullOrWhiteSpace(path) || builder.Sources.OfType<Source>().Any())
        {
            return;
        }

        IConfigurationRoot yaml;
        try
        {
            yaml = new ConfigurationBuilder().AddYamlFile(Path.GetFullPath(path), optional: false, reloadOnChange: false).Build();
        }
        catch (Exception ex) when (ex is FileNotFoundException or IOException or UnauthorizedAccessException or FormatException or InvalidDataException
            || ex.GetType().Namespace?.StartsWith("YamlDotNet", StringComparison.Ordinal) == true)
        {
            var reason = ex is FileNotFoundException ? "does not exist" : $"cannot be read as YAML: {Describe(ex)}";
            throw new OptionsValidationException(ExporterOptions.Section, typeof(ExporterOptions), [$"{Setting} '{path}' {reason}"]);
        }

        var values = yaml.AsEnumerable()
            .Where(p => p.Value is not null)
            .Select(p => KeyValuePair.Create($"{ExporterOptions.Section}:{p.Key}", p.Value));
        var source = new Source { InitialData = values.ToList() };
        var environment = builder.Sources.ToList().FindIndex(s => s is EnvironmentVariablesConfigurationSource);
        if (environment < 0)
        {
            builder.Add(source);
        }
        else
        {
            builder.Sources.Insert(environment, source);
        }
    }

    /// <summary>The parser's message with where it stopped; YAML errors carry line and column, never a value.</summary>
    private static string Describe(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        return inner.Message.ReplaceLineEndings(" ");
    }

    /// <summary>Marks the file's values, so reading the file twice (local runner, then services) is a no-op.</summary>
    private sealed class Source : MemoryConfigurationSource;
}
