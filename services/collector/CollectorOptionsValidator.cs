using Egressd.Shared.Hosting;
using Microsoft.Extensions.Options;

namespace Egressd.Collector;

internal sealed class CollectorOptionsValidator : IValidateOptions<CollectorOptions>
{
    public ValidateOptionsResult Validate(string? name, CollectorOptions options)
    {
        var errors = new List<string>();
        DurationSetting.Validate(options.ReadInterval, $"{CollectorOptions.Section}:ReadInterval", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), errors);
        if (options.MaxFlowsPerPart < 1)
        {
            errors.Add($"{CollectorOptions.Section}:MaxFlowsPerPart must be at least 1 (got {options.MaxFlowsPerPart})");
        }

        if (options.MaxNewHostConnections is < 1024 or > 4_194_304)
        {
            errors.Add($"{CollectorOptions.Section}:MaxNewHostConnections must be between 1024 and 4194304 (got {options.MaxNewHostConnections})");
        }

        if (options.MaxPendingKeys is < 1000 or > 100_000_000)
        {
            errors.Add($"{CollectorOptions.Section}:MaxPendingKeys must be between 1000 and 100000000 (got {options.MaxPendingKeys})");
        }

        // 0 sizes the buffer from the namespace's conntrack table; the kernel takes at most 1 GiB.
        if (options.EventBufferBytes is not 0 and (< 64 * 1024 or > 1 << 30))
        {
            errors.Add($"{CollectorOptions.Section}:EventBufferBytes must be 0 (sized from the conntrack table) or between 65536 and 1073741824 (got {options.EventBufferBytes})");
        }

        if (string.IsNullOrWhiteSpace(options.StateDirectory) || !Path.IsPathFullyQualified(options.StateDirectory))
        {
            errors.Add($"{CollectorOptions.Section}:StateDirectory must be an absolute path (got '{options.StateDirectory}')");
        }

        if (options.NetnsPath() is { } netns && !File.Exists(netns))
        {
            errors.Add($"{CollectorOptions.Section}:Netns '{netns}' does not exist (a network namespace file such as /proc/1/ns/net)");
        }

        if (string.IsNullOrWhiteSpace(options.BpfRoot))
        {
            errors.Add($"{CollectorOptions.Section}:BpfRoot must name the bpf filesystem's mount point (default /sys/fs/bpf)");
        }

        switch (options.Source)
        {
            case CollectorSource.Netfilter or CollectorSource.Cilium or CollectorSource.Auto when !OperatingSystem.IsLinux():
                errors.Add($"{CollectorOptions.Section}:Source '{options.Source}' needs Linux");
                break;
            case CollectorSource.Cilium when !string.IsNullOrWhiteSpace(options.BpfRoot) && !Directory.Exists(options.BpfRoot):
                errors.Add($"{CollectorOptions.Section}:BpfRoot '{options.BpfRoot}' does not exist (mount the host's /sys/fs/bpf into the collector)");
                break;
            case CollectorSource.Netfilter or CollectorSource.Cilium or CollectorSource.Auto:
                break;
            case CollectorSource.Replay when string.IsNullOrWhiteSpace(options.ReplayFile):
                errors.Add($"{CollectorOptions.Section}:ReplayFile is required when {CollectorOptions.Section}:Source is 'Replay'");
                break;
            case CollectorSource.Replay when !File.Exists(options.ReplayFile):
                errors.Add($"{CollectorOptions.Section}:ReplayFile '{options.ReplayFile}' does not exist");
                break;
            case CollectorSource.Replay:
                break;
            default:
                errors.Add($"{CollectorOptions.Section}:Source must be Auto, Netfilter, Cilium or Replay (got '{options.Source}')");
                break;
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
