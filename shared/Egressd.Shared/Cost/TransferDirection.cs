namespace Egressd.Shared.Cost;

/// <summary>Which way bytes went, from the point of view of the pod that pays for them.</summary>
public enum TransferDirection
{
    /// <summary>The pod sent them (a flow's transmit counters).</summary>
    Transmit,

    /// <summary>The pod received them (a flow's receive counters).</summary>
    Receive,
}
