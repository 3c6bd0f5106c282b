using Egressd.Shared.Hosting;
using Microsoft.Extensions.Options;

namespace Egressd.Local.Demo;

internal sealed class DemoOptionsValidator : IValidateOptions<DemoOptions>
{
    public ValidateOptionsResult Validate(string? name, DemoOptions options)
    {
        var errors = new List<string>();
        DurationSetting.Validate(options.Interval, $"{DemoOptions.Section}:Interval", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10), errors);
        if (options.PlanFile is { Length: > 0 } plan)
        {
            if (!File.Exists(plan))
            {
                errors.Add($"{DemoOptions.Section}:PlanFile '{plan}' does not exist (run.sh --demo writes it)");
            }
            else
            {
                try
                {
                    DemoPlan.Load(plan);
                }
                catch (Exception ex) when (ex is FormatException or IOException)
                {
                    errors.Add($"{DemoOptions.Section}:PlanFile: {ex.Message}");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
