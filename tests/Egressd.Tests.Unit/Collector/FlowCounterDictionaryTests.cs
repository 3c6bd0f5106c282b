using Egressd.Collector.Flows;
using Egressd.Contracts;

namespace Egressd.Tests.Collector;

public sealed class FlowCounterDictionaryTests
{
    /// <summary>
    /// Pod n to service n: source and destination differ in the same bits from key to key, so
    /// source XOR destination is one value for all of them. Hashed that way, every key fell in one
    /// bucket and summing a window took time growing with the square of its keys.
    /// </summary>
    [Fact]
    public void Keys_whose_source_and_destination_change_together_spread_over_the_table()
    {
        var keys = Enumerable.Range(0, 10_000)
            .Select(i => new FlowKey(IpAddr.FromV4(0x0A010000u | (uint)i), IpAddr.FromV4(0x0A640000u | (uint)i), IpAddr.None, 6))
            .ToList();

        var hashes = keys.Select(k => FlowCounterDictionary.PackedKey.TryPack(k, out var packed) ? packed.GetHashCode() : throw new InvalidOperationException($"{k} is not packed"));
        Assert.True(hashes.Distinct().Count() >= 9_900, $"{hashes.Distinct().Count()} distinct hashes for 10,000 keys");

        var table = new FlowCounterDictionary();
        foreach (var (key, i) in keys.Select((k, i) => (k, i)))
        {
            ref var sum = ref table.GetValueRefOrAddDefault(key, out var exists);
            Assert.False(exists);
            sum = sum.Add(new FlowCounters((ulong)i, 1, 2, 3));
        }

        Assert.Equal(keys.Count, table.Count);
        Assert.Equal(1234UL, table[keys[1234]].TxBytes);
    }
}
