namespace Egressd.Collector.Flows;

/// <summary>
/// Growth for the collector's large per-key tables. A dictionary doubles when full, so a table of
/// 250,000 keys can hold room for 350,000, and while it grows the old and the new arrays (three
/// times the old) live together. Growing by a quarter leaves at most a fifth unused and needs 2.25
/// times the old size while it grows; tables keep their size between windows, so this happens
/// only while a node's key count climbs.
/// </summary>
internal static class DictionaryGrowth
{
    /// <summary>Call before adding a key that may be new.</summary>
    public static void MakeRoomForOne<TKey, TValue>(Dictionary<TKey, TValue> table)
        where TKey : notnull
    {
        var count = table.Count;
        if (count >= table.EnsureCapacity(0))
        {
            table.EnsureCapacity(count + (count / 4) + 16);
        }
    }
}
