using Microsoft.Extensions.Options;

namespace Egressd.Exporter.Sinks.FlowLog;

internal sealed class FlowLogOptionsValidator : IValidateOptions<FlowLogOptions>
{
    /// <summary>Below this a rotation would happen every few lines.</summary>
    public const long MinFileBytes = 4096;

    public ValidateOptionsResult Validate(string? name, FlowLogOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        const string S = FlowLogOptions.Section;
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            errors.Add($"{S}:Path must be a file or '-' for standard output");
        }
        else if (!options.IsStandardOutput)
        {
            var full = Path.GetFullPath(options.Path);
            var directory = Path.GetDirectoryName(full);
            if (directory is not null && !Directory.Exists(directory))
            {
                errors.Add($"{S}:Path '{options.Path}': directory '{directory}' does not exist");
            }
            else if (new FileInfo(full).LinkTarget is { } target)
            {
                // Whoever can plant a link there could make the exporter write where it should not.
                errors.Add($"{S}:Path '{options.Path}' is a symbolic link (to '{target}'); the flow log refuses to follow links");
            }
            else if (Directory.Exists(full))
            {
                errors.Add($"{S}:Path '{options.Path}' is a directory; give a file");
            }
        }

        if (options.MaxFileBytes != 0 && options.MaxFileBytes < MinFileBytes)
        {
            errors.Add($"{S}:MaxFileBytes must be 0 (never rotate) or at least {MinFileBytes} (got {options.MaxFileBytes})");
        }

        if (options.RotatedFiles is < 1 or > 1000)
        {
            // At least one: the batch ids of the file just rotated must stay readable after a restart.
            errors.Add($"{S}:RotatedFiles must be between 1 and 1000 (got {options.RotatedFiles})");
        }

        if (options.ParseFileMode() is not { } mode)
        {
            errors.Add($"{S}:FileMode must be an octal permission such as 0600 or 0640 (got '{options.FileMode}')");
        }
        else if ((mode & (UnixFileMode.UserRead | UnixFileMode.UserWrite)) != (UnixFileMode.UserRead | UnixFileMode.UserWrite))
        {
            // The sink reads its own file back at start to find torn writes and the batches it holds.
            errors.Add($"{S}:FileMode must let the owner read and write (got '{options.FileMode}')");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
