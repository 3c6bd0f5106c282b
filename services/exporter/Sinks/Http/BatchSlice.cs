using Egressd.Contracts;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>Flows <see cref="Start"/> to <see cref="Start"/> + <see cref="Count"/> of one bus batch: all of it, or a piece of one too large for a request.</summary>
internal readonly record struct BatchSlice(FlowBatchEnriched Batch, int Start, int Count)
{
    public bool IsWhole => Start == 0 && Count == Batch.Flows.Count;

    /// <summary>The slice in an idempotency key: the batch id, and the flow range when only part of it.</summary>
    public override string ToString() => IsWhole ? Batch.Header.Id.ToString() : $"{Batch.Header.Id}[{Start}+{Count}]";
}
