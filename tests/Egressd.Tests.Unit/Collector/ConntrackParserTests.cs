using System.Net;
using Egressd.Collector.Flows;
using Egressd.Collector.Netfilter;

namespace Egressd.Tests.Collector;

public sealed class ConntrackParserTests
{
    private sealed class Collect : IConntrackEntrySink
    {
        public List<ConntrackEntry> Entries { get; } = [];

        public void OnEntry(in ConntrackEntry entry) => Entries.Add(entry);
    }

    private static readonly CtMessages.Spec V4 = new(
        IPAddress.Parse("10.244.1.10"), IPAddress.Parse("10.96.0.15"), IPAddress.Parse("10.244.2.20"), IPAddress.Parse("10.244.1.10"));

    private static readonly CtMessages.Spec V6 = new(
        IPAddress.Parse("fd00::a"), IPAddress.Parse("2001:db8::9"), IPAddress.Parse("2001:db8::9"), IPAddress.Parse("fd00::a"),
        Protocol: 17, SrcPort: 5353, DstPort: 53, OrigBytes: ulong.MaxValue - 1, Id: uint.MaxValue);

    [Fact]
    public void Parses_tuples_counters_and_ids_of_a_multipart_batch_up_to_done()
    {
        var sink = new Collect();
        var interrupted = false;
        var skipped = 0;
        var batch = CtMessages.Concat(CtMessages.Message(V4), CtMessages.Message(V6), CtMessages.Done());

        var result = ConntrackParser.ParseBatch(batch, sink, out var errno, ref interrupted, ref skipped);

        Assert.Equal(NetlinkBatchResult.Done, result);
        Assert.Equal(0, errno);
        Assert.False(interrupted);
        Assert.Equal(2, sink.Entries.Count);
        var v4 = sink.Entries[0];
        Assert.Equal("10.244.1.10", v4.Original.Source.ToString());
        Assert.Equal("10.96.0.15", v4.Original.Destination.ToString());
        Assert.Equal("10.244.2.20", v4.Reply.Source.ToString());
        Assert.Equal(6, v4.Original.Protocol);
        Assert.Equal(40000, v4.Original.SourcePort);
        Assert.Equal(80, v4.Original.DestinationPort);
        Assert.Equal(new ConntrackCounters(3, 300), v4.OriginalCounters);
        Assert.Equal(new ConntrackCounters(4, 4000), v4.ReplyCounters);
        Assert.Equal(7u, v4.Id);
        Assert.Equal(120u, v4.TimeoutSeconds);
        Assert.True(v4.HasCounters);
        Assert.False(v4.Destroyed);
        var v6 = sink.Entries[1];
        Assert.Equal("2001:db8::9", v6.Original.Destination.ToString());
        Assert.False(v6.Original.Destination.IsV4);
        Assert.Equal(ulong.MaxValue - 1, v6.OriginalCounters.Bytes);
        Assert.Equal(uint.MaxValue, v6.Id);
    }

    [Fact]
    public void Reads_the_start_and_stop_timestamps_and_leaves_them_zero_when_the_kernel_sends_none()
    {
        var sink = new Collect();
        var interrupted = false;
        var skipped = 0;
        var batch = CtMessages.Concat(
            CtMessages.Message(V4 with { Start = 1_700_000_000_123_456_789, Stop = 1_700_000_005_000_000_001, Type = 0x0102 }),
            CtMessages.Message(V4));

        ConntrackParser.ParseBatch(batch, sink, out _, ref interrupted, ref skipped);

        Assert.Equal((1_700_000_000_123_456_789UL, 1_700_000_005_000_000_001UL, true), (sink.Entries[0].StartNanos, sink.Entries[0].StopNanos, sink.Entries[0].Destroyed));
        Assert.Equal((0UL, 0UL), (sink.Entries[1].StartNanos, sink.Entries[1].StopNanos));
    }

    [Fact]
    public void Reports_errors_interrupted_dumps_destroy_events_and_missing_counters()
    {
        var sink = new Collect();
        var interrupted = false;
        var skipped = 0;
        Assert.Equal(NetlinkBatchResult.Error, ConntrackParser.ParseBatch(CtMessages.Error(1), sink, out var errno, ref interrupted, ref skipped));
        Assert.Equal(1, errno);

        Assert.Equal(NetlinkBatchResult.More, ConntrackParser.ParseBatch(CtMessages.Message(V4, flags: 0x2 | 0x10), sink, out _, ref interrupted, ref skipped));
        Assert.True(interrupted);

        ConntrackParser.ParseBatch(CtMessages.Message(V4 with { Type = 0x0102, Counters = false }), sink, out _, ref interrupted, ref skipped);
        Assert.True(sink.Entries[^1].Destroyed);
        Assert.False(sink.Entries[^1].HasCounters);
        Assert.Equal(0, skipped);
    }

    [Fact]
    public void Entry_with_a_broken_attribute_is_skipped_and_the_rest_of_the_batch_parsed()
    {
        var bad = CtMessages.Message(V4);
        // The first attribute (CTA_TUPLE_ORIG) claims more bytes than the message has.
        BitConverter.TryWriteBytes(bad.AsSpan(20), (ushort)0xFFF0);
        var sink = new Collect();
        var interrupted = false;
        var skipped = 0;

        var result = ConntrackParser.ParseBatch(CtMessages.Concat(bad, CtMessages.Message(V6), CtMessages.Done()), sink, out _, ref interrupted, ref skipped);

        Assert.Equal(NetlinkBatchResult.Done, result);
        Assert.Equal(1, skipped);
        Assert.Equal("2001:db8::9", Assert.Single(sink.Entries).Original.Destination.ToString());
    }

    [Fact]
    public void Dump_ends_at_done_or_error_and_not_before()
    {
        Assert.True(ConntrackParser.EndsDump(CtMessages.Concat(CtMessages.Message(V4), CtMessages.Message(V6), CtMessages.Done())));
        Assert.True(ConntrackParser.EndsDump(CtMessages.Concat(CtMessages.Message(V4), CtMessages.Error(105))));
        Assert.False(ConntrackParser.EndsDump(CtMessages.Concat(CtMessages.Message(V4), CtMessages.Message(V6))));
        Assert.False(ConntrackParser.EndsDump([]));
    }

    /// <summary>
    /// Message lengths a broken or hostile peer could send: shorter than a header, past the datagram, and near the
    /// top of the 32-bit range where adding the alignment padding overflows. The receiver stops (the dump makes no
    /// sense any more) and the parser refuses the buffer with its own error; neither throws anything else.
    /// </summary>
    [Theory]
    [InlineData(0u)]
    [InlineData(15u)]
    [InlineData(1_000u)]
    [InlineData(0x7FFF_FFFDu)]
    [InlineData(0x7FFF_FFFEu)]
    [InlineData(0x7FFF_FFFFu)]
    [InlineData(0x8000_0000u)]
    [InlineData(0xFFFF_FFFDu)]
    [InlineData(uint.MaxValue)]
    public void Hostile_message_length_stops_the_dump_and_is_refused(uint length)
    {
        var first = CtMessages.Message(V4);
        var batch = CtMessages.Concat(first, CtMessages.Message(V6), CtMessages.Message(V4));
        BitConverter.TryWriteBytes(batch.AsSpan(first.Length), length);

        Assert.True(ConntrackParser.EndsDump(batch));
        var sink = new Collect();
        var interrupted = false;
        var skipped = 0;
        Assert.Throws<NetlinkParseException>(() => ConntrackParser.ParseBatch(batch, sink, out _, ref interrupted, ref skipped));
        Assert.Single(sink.Entries);
    }

    [Fact]
    public void Unaligned_length_is_padded_to_the_next_message()
    {
        // A length of 17 for a message that fills 20 bytes: the next message starts at the 4-byte boundary.
        var odd = CtMessages.Done();
        var padded = new byte[20];
        odd.CopyTo(padded, 0);
        BitConverter.TryWriteBytes(padded, 17u);
        BitConverter.TryWriteBytes(padded.AsSpan(4), (ushort)0x0100); // an ordinary, ignored type
        var batch = CtMessages.Concat(padded, CtMessages.Message(V6), CtMessages.Done());

        Assert.True(ConntrackParser.EndsDump(batch));
        var sink = new Collect();
        var interrupted = false;
        var skipped = 0;
        Assert.Equal(NetlinkBatchResult.Done, ConntrackParser.ParseBatch(batch, sink, out _, ref interrupted, ref skipped));
        Assert.Single(sink.Entries);
    }

    /// <summary>
    /// A million truncated, corrupted, resized and random inputs: the parser may reject them, only
    /// ever with its own exception, and never reads outside the buffer.
    /// </summary>
    [Fact]
    public void Fuzzed_input_never_throws_anything_but_the_parsers_own_error()
    {
        var random = new Random(20261126);
        byte[][] seeds =
        [
            CtMessages.Concat(CtMessages.Message(V4), CtMessages.Message(V6), CtMessages.Done()),
            CtMessages.Message(V6 with { Type = 0x0102 }),
            CtMessages.Message(V4 with { Counters = false }),
            CtMessages.Error(105),
        ];
        var sink = new Collect();
        var buffer = new byte[4096];
        var outcomes = new int[3];
        for (var i = 0; i < 1_000_000; i++)
        {
            int length;
            var seed = seeds[i % seeds.Length];
            switch (i % 5)
            {
                case 0:
                    length = random.Next(seed.Length + 1);
                    seed.AsSpan(0, length).CopyTo(buffer);
                    break;
                case 1:
                    length = seed.Length;
                    seed.CopyTo(buffer, 0);
                    for (var flips = random.Next(1, 6); flips > 0; flips--)
                    {
                        buffer[random.Next(length)] = (byte)random.Next(256);
                    }

                    break;
                case 2:
                    length = seed.Length;
                    seed.CopyTo(buffer, 0);
                    // A length field (message or attribute) set to anything.
                    var at = random.Next(length / 4) * 4;
                    if (random.Next(2) == 0)
                    {
                        BitConverter.TryWriteBytes(buffer.AsSpan(at), (ushort)random.Next(65536));
                    }
                    else
                    {
                        BitConverter.TryWriteBytes(buffer.AsSpan(at), uint.MaxValue - (uint)random.Next(65536));
                    }

                    break;
                case 3:
                    length = random.Next(1, 256);
                    random.NextBytes(buffer.AsSpan(0, length));
                    break;
                default:
                    length = Math.Min(buffer.Length, seed.Length + random.Next(64));
                    seed.CopyTo(buffer, 0);
                    random.NextBytes(buffer.AsSpan(seed.Length, length - seed.Length));
                    break;
            }

            // The receiver's look at the same bytes must not throw either.
            ConntrackParser.EndsDump(buffer.AsSpan(0, length));
            sink.Entries.Clear();
            var interrupted = false;
            var skipped = 0;
            try
            {
                ConntrackParser.ParseBatch(buffer.AsSpan(0, length), sink, out _, ref interrupted, ref skipped);
                outcomes[skipped > 0 ? 1 : 0]++;
            }
            catch (NetlinkParseException)
            {
                outcomes[2]++;
            }
        }

        // The mix must have exercised every outcome, or the fuzzing proves little.
        Assert.All(outcomes, count => Assert.True(count > 1000, $"outcomes {string.Join(", ", outcomes)}"));
    }
}
