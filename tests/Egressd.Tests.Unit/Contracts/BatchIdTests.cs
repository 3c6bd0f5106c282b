using Egressd.Contracts;
using Egressd.Shared.Bus;

namespace Egressd.Tests.Contracts;

public sealed class BatchIdTests
{
    [Fact]
    public void Message_id_is_deterministic_and_distinct_per_part()
    {
        var a = new BatchId { Node = "n", BootId = "b", Window = 7, Part = 0, PartCount = 2 };
        Assert.Equal(a.ToMessageId(), (a with { }).ToMessageId());
        Assert.NotEqual(a.ToMessageId(), (a with { Part = 1 }).ToMessageId());
        Assert.NotEqual(a.ToMessageId(), (a with { Window = 8 }).ToMessageId());
        Assert.NotEqual(a.ToMessageId(), (a with { BootId = "c" }).ToMessageId());
        Assert.Equal(8, a.ToMessageId().Version);
        Assert.Equal("n/b/7/1-of-2", a.ToString());
    }
}
