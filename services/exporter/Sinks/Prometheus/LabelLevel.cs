namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>The ready-made label sets of the flow series, from most to least detailed.</summary>
public enum LabelLevel
{
    /// <summary>egressd's labels, exactly: pods, their addresses, nodes and zones.</summary>
    Pod,

    /// <summary>Pods folded into their workloads.</summary>
    Workload,

    /// <summary>Namespace to namespace, per zone.</summary>
    Namespace,
}
