using Microsoft.Extensions.Options;

namespace Egressd.Collector;

/// <summary>Settings under <c>Egressd:Collector</c>.</summary>
public sealed class CollectorOptions
{
    public const string Section = "Egressd:Collector";

    /// <summary>This node's name; defaults to the NODE_NAME environment variable, else the host name.</summary>
    public string? NodeName { get; set; }

    /// <summary>How often connection tracking is read; each read closes one window.</summary>
    public TimeSpan ReadInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Where flows come from: <c>netfilter</c> (the kernel's conntrack) or <c>replay</c> (a recorded JSON-lines file).</summary>
    public string Source { get; set; } = CollectorSources.Netfilter;

    /// <summary>The network namespace to read, e.g. <c>/proc/1/ns/net</c> for the host's from a hostPID pod; empty: the collector's own.</summary>
    public string? Netns { get; set; }

    /// <summary>Turn on net.netfilter.nf_conntrack_acct at start (needs CAP_NET_ADMIN); without it every counter reads zero.</summary>
    public bool EnableAccounting { get; set; } = true;

    /// <summary>Listen to conntrack destroy events, so flows that start and end between two reads are counted.</summary>
    public bool DestroyEvents { get; set; } = true;

    /// <summary>Kernel receive buffer for destroy events; raise it when the overflow metric counts.</summary>
    public int EventBufferBytes { get; set; } = 16 << 20;

    /// <summary>Which flows are kept: <c>auto</c> (Kubernetes when a cluster is reachable, else the inventory file when set, else none), <c>kubernetes</c> (this node's pods from a watch), <c>inventory</c> or <c>none</c> (every address counts as a local pod).</summary>
    public string PodFilter { get; set; } = PodFilters.Auto;

    /// <summary>Comma-separated namespaces whose pods are not reported.</summary>
    public string ExcludeNamespaces { get; set; } = "kube-system";

    /// <summary>Report every public destination as 0.0.0.0 or :: (fewer series; egressd's -group-public-ips).</summary>
    public bool GroupPublicDestinations { get; set; }

    /// <summary>The JSON-lines file the <c>replay</c> source reads.</summary>
    public string? ReplayFile { get; set; }

    /// <summary>Replay the file at every read (a steady demo load) instead of once.</summary>
    public bool ReplayLoop { get; set; }

    /// <summary>A window with more flows than this is cut into parts, each its own message.</summary>
    public int MaxFlowsPerPart { get; set; } = 5000;

    public string ResolveNodeName() =>
        NodeName is { Length: > 0 } name ? name
        : Environment.GetEnvironmentVariable("NODE_NAME") is { Length: > 0 } env ? env
        : Environment.MachineName;

    public IReadOnlyCollection<string> ExcludedNamespaces() =>
        [.. ExcludeNamespaces.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    public string? NetnsPath() => string.IsNullOrWhiteSpace(Netns) ? null : Netns;

    /// <summary>The filter <c>auto</c> stands for here: Kubernetes, then the inventory file, then none.</summary>
    public string ResolvePodFilter(bool hasCluster, string? inventoryFile) => PodFilter.Trim().ToLowerInvariant() switch
    {
        PodFilters.Auto when hasCluster => PodFilters.Kubernetes,
        PodFilters.Auto when !string.IsNullOrWhiteSpace(inventoryFile) => PodFilters.Inventory,
        PodFilters.Auto => PodFilters.None,
        var filter => filter,
    };
}

public static class CollectorSources
{
    public const string Netfilter = "netfilter";
    public const string Replay = "replay";
}

public static class PodFilters
{
    public const string Auto = "auto";
    public const string Kubernetes = "kubernetes";
    public const string Inventory = "inventory";
    public const string None = "none";
}

internal sealed class CollectorOptionsValidator(IOptions<Shared.Inventory.InventoryOptions> inventory, IOptions<Shared.Kubernetes.KubernetesOptions> kubernetes)
    : IValidateOptions<CollectorOptions>
{
    public ValidateOptionsResult Validate(string? name, CollectorOptions options)
    {
        var errors = new List<string>();
        if (options.ReadInterval <= TimeSpan.Zero)
        {
            errors.Add($"Egressd:Collector:ReadInterval must be positive (got {options.ReadInterval})");
        }

        if (options.MaxFlowsPerPart < 1)
        {
            errors.Add($"Egressd:Collector:MaxFlowsPerPart must be at least 1 (got {options.MaxFlowsPerPart})");
        }

        if (options.EventBufferBytes < 64 * 1024)
        {
            errors.Add($"Egressd:Collector:EventBufferBytes must be at least 65536 (got {options.EventBufferBytes})");
        }

        if (options.NetnsPath() is { } netns && !File.Exists(netns))
        {
            errors.Add($"Egressd:Collector:Netns '{netns}' does not exist (a network namespace file such as /proc/1/ns/net)");
        }

        switch (options.Source?.Trim().ToLowerInvariant())
        {
            case CollectorSources.Netfilter:
                if (!OperatingSystem.IsLinux())
                {
                    errors.Add("Egressd:Collector:Source 'netfilter' needs Linux");
                }

                break;
            case CollectorSources.Replay:
                if (string.IsNullOrWhiteSpace(options.ReplayFile))
                {
                    errors.Add("Egressd:Collector:ReplayFile is required when Egressd:Collector:Source is 'replay'");
                }
                else if (!File.Exists(options.ReplayFile))
                {
                    errors.Add($"Egressd:Collector:ReplayFile '{options.ReplayFile}' does not exist");
                }

                break;
            default:
                errors.Add($"Egressd:Collector:Source must be '{CollectorSources.Netfilter}' or '{CollectorSources.Replay}' (got '{options.Source}')");
                break;
        }

        switch (options.PodFilter?.Trim().ToLowerInvariant())
        {
            case PodFilters.Auto or PodFilters.None:
                break;
            case PodFilters.Kubernetes:
                if (!kubernetes.Value.HasCluster)
                {
                    errors.Add("Egressd:Collector:PodFilter 'kubernetes' needs Egressd:Kubernetes:Kubeconfig outside a pod");
                }

                break;
            case PodFilters.Inventory:
                if (string.IsNullOrWhiteSpace(inventory.Value.File))
                {
                    errors.Add("Egressd:Collector:PodFilter 'inventory' needs Egressd:Inventory:File");
                }

                break;
            default:
                errors.Add($"Egressd:Collector:PodFilter must be '{PodFilters.Auto}', '{PodFilters.Kubernetes}', '{PodFilters.Inventory}' or '{PodFilters.None}' (got '{options.PodFilter}')");
                break;
        }

        if (inventory.Value.File is { Length: > 0 } file && !File.Exists(file))
        {
            errors.Add($"Egressd:Inventory:File '{file}' does not exist");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
