using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.Http;

internal sealed class HttpSinksOptionsValidator : IValidateOptions<HttpSinksOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpSinksOptions options)
    {
        var errors = new List<string>();
        foreach (var (sink, entry) in options.Sinks)
        {
            if (entry.Http is { } http)
            {
                HttpSinkSettings.Resolve(sink, http, options.ExportInterval, errors);
            }
            else if (entry.PromRemoteWrite is null)
            {
                errors.Add($"{HttpSinksOptions.Section}:Sinks:{sink} has no 'http' section (the only sink type read from here)");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
