using Egressd.Contracts;
using Egressd.Exporter.Sinks;

namespace Egressd.Tests.Exporter;

public sealed class AppliedBatchesTests
{
    private static string Id(long window) => new BatchId { Node = "n", BootId = "b", Window = window, Part = 0, PartCount = 1 }.ToString();

    [Fact]
    public void Applied_batch_is_a_duplicate_failed_one_is_not_and_the_window_is_bounded()
    {
        var applied = new AppliedBatches(capacity: 2);
        Assert.True(applied.TryReserve(Id(1)));
        Assert.False(applied.TryReserve(Id(1)));
        applied.Complete(Id(1));
        Assert.False(applied.TryReserve(Id(1)));

        Assert.True(applied.TryReserve(Id(2)));
        applied.Release(Id(2));
        Assert.True(applied.TryReserve(Id(2)));
        applied.Complete(Id(2));

        Assert.True(applied.TryReserve(Id(3)));
        applied.Complete(Id(3));
        // Capacity 2: the oldest id has been forgotten.
        Assert.True(applied.TryReserve(Id(1)));
        Assert.False(applied.TryReserve(Id(3)));
    }
}
