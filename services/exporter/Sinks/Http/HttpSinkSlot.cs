namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// Which configured HTTP sink a consumer type serves. MassTransit registers a consumer once per
/// type, with one endpoint; several HTTP sinks need several queues, so each sink gets a consumer
/// type of its own: <c>HttpSinkConsumer&lt;FirstSlot&gt;</c>, <c>HttpSinkConsumer&lt;NextSlot&lt;FirstSlot&gt;&gt;</c>, …
/// Everything else about the endpoint (retries, fault accounting, quorum queue) comes from the
/// bus's usual wiring, as for every other consumer.
/// </summary>
internal interface IHttpSinkSlot
{
    /// <summary>The sink's place in <see cref="HttpSinksOptions.HttpSinkNames"/>.</summary>
    static abstract int Index { get; }
}

internal sealed class FirstSlot : IHttpSinkSlot
{
    public static int Index => 0;
}

internal sealed class NextSlot<TPrevious> : IHttpSinkSlot
    where TPrevious : IHttpSinkSlot
{
    public static int Index => TPrevious.Index + 1;
}

internal static class HttpSinkSlots
{
    /// <summary>The slot type for sink number <paramref name="index"/>.</summary>
    public static Type Of(int index)
    {
        var slot = typeof(FirstSlot);
        for (var i = 0; i < index; i++)
        {
            slot = typeof(NextSlot<>).MakeGenericType(slot);
        }

        return slot;
    }
}
