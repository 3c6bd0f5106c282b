using System.Text.Json.Serialization;

namespace Egressd.Contracts;

/// <summary>
/// What a batch's transmit and receive counters mean. A property of the batch, not of each flow:
/// one collector reads one source with one counter layout, and a window holds that collector's
/// deltas only, so every flow of a batch shares it; a per-flow column would cost bytes on every
/// flow to repeat one fact.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<FlowCounterDirections>))]
public enum FlowCounterDirections
{
    /// <summary>Transmit counters are what the source sent, receive counters what it received.</summary>
    [JsonStringEnumMemberName("separate")]
    Separate,

    /// <summary>
    /// The source keeps one packet and one byte counter per connection for both directions
    /// (Cilium 1.16 and later). A flow holds the connection's total both ways in its transmit
    /// counters when its source opened the connection, in its receive counters when its source
    /// accepted it, and zero in the other pair. Neither pair is one direction's traffic.
    /// </summary>
    [JsonStringEnumMemberName("combined")]
    Combined,
}
