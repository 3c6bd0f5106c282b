using Microsoft.Extensions.Options;

namespace Egressd.Local.View;

internal sealed class ViewOptionsValidator : IValidateOptions<ViewOptions>
{
    public ValidateOptionsResult Validate(string? name, ViewOptions options)
    {
        var errors = new List<string>();
        if (options.Mode is not (ViewMode.Off or ViewMode.Live or ViewMode.Lines))
        {
            errors.Add($"{ViewOptions.Section}:Mode must be Off, Live or Lines (got '{options.Mode}')");
        }

        if (options.TopFlows < 1)
        {
            errors.Add($"{ViewOptions.Section}:TopFlows must be at least 1 (got {options.TopFlows})");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
