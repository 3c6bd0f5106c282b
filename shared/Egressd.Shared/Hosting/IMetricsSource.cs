using System.IO.Pipelines;

namespace Egressd.Shared.Hosting;

/// <summary>
/// Metric families a service renders itself, in the Prometheus text format, after prometheus-net's
/// own on <c>/metrics</c>: for series too many for prometheus-net's per-child objects.
/// </summary>
public interface IMetricsSource
{
    /// <summary>Writes whole metric families (# HELP, # TYPE, samples); writes nothing when there is nothing to show.</summary>
    Task WriteAsync(PipeWriter output, CancellationToken cancellationToken);
}
