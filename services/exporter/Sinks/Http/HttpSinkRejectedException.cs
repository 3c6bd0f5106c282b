namespace Egressd.Exporter.Sinks.Http;

/// <summary>A request that will not succeed however often it is sent again: its batches are parked.</summary>
internal sealed class HttpSinkRejectedException(string reason, string message) : Exception(message)
{
    /// <summary><see cref="Egressd.Shared.Bus.FaultReasons.Rejected"/> or <see cref="Egressd.Shared.Bus.FaultReasons.Undeliverable"/>.</summary>
    public string Reason { get; } = reason;
}
