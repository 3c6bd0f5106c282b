namespace Egressd.Exporter.Sinks.Prometheus.RemoteWrite;

/// <summary>The receiver answered with an error status (after the retries, for a retryable one).</summary>
internal sealed class RemoteWriteRejectedException(int status, string reason)
    : Exception($"the receiver answered {status}: {reason}")
{
    public int Status { get; } = status;
}
