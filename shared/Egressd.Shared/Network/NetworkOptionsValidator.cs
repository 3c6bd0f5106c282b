using Microsoft.Extensions.Options;

namespace Egressd.Shared.Network;

internal sealed class NetworkOptionsValidator : IValidateOptions<NetworkOptions>
{
    public ValidateOptionsResult Validate(string? name, NetworkOptions options)
    {
        var errors = new List<string>();
        CidrSet.Validate(options.PrivateCidrs, $"{NetworkOptions.Section}:PrivateCidrs", errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
