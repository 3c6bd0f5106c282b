using Egressd.Collector.Dns;
using Egressd.Contracts;

namespace Egressd.Tests.Collector;

/// <summary>The DNS parser on well-formed responses, and fuzzed: no input makes it throw or spin.</summary>
public sealed class DnsMessageParserTests
{
    [Fact]
    public void Reads_a_compressed_cname_chain_to_addresses_in_lower_case()
    {
        var message = DnsMessages.Response("WWW.Example.COM")
            .Cname("www.example.com", "edge.example.net", ttl: 120)
            .Cname("edge.example.net", "origin.example.net", ttl: 600)
            .A("origin.example.net", "192.0.2.1", ttl: 30)
            .Aaaa("origin.example.net", "2001:db8::1", ttl: 40)
            .Build();

        var records = new List<DnsAnswerRecord>();
        Assert.Equal(DnsParseResult.Answered, DnsMessageParser.Parse(message, records, out var question));
        Assert.Equal("www.example.com", question);
        Assert.Equal(4, records.Count);
        Assert.Equal(new DnsAnswerRecord("www.example.com", 120, IpAddr.None, "edge.example.net"), records[0]);
        Assert.Equal(new DnsAnswerRecord("origin.example.net", 30, IpAddr.Parse("192.0.2.1"), null), records[2]);
        Assert.Equal(IpAddr.Parse("2001:db8::1"), records[3].Address);

        // Each address is named by the head of its chain, for as long as the shortest link lives.
        Assert.Equal("www.example.com", DnsCnameChain.AskedName(records, records[2], out var ttl));
        Assert.Equal(30u, ttl);
        Assert.Equal("www.example.com", DnsCnameChain.AskedName(records, records[3], out _));
    }

    [Fact]
    public void Chain_links_that_loop_end_at_the_limit()
    {
        var records = new List<DnsAnswerRecord>
        {
            new("a.test", 10, IpAddr.None, "b.test"),
            new("b.test", 10, IpAddr.None, "a.test"),
            new("a.test", 10, IpAddr.Parse("192.0.2.7"), null),
        };
        var name = DnsCnameChain.AskedName(records, records[2], out _);
        Assert.True(name is "a.test" or "b.test");
    }

    [Fact]
    public void A_ttl_with_the_top_bit_set_reads_as_zero()
    {
        var records = new List<DnsAnswerRecord>();
        var message = DnsMessages.Response("x.test").A("x.test", "192.0.2.2", ttl: 0x8000_0001).Build();
        Assert.Equal(DnsParseResult.Answered, DnsMessageParser.Parse(message, records, out _));
        Assert.Equal(0u, Assert.Single(records).Ttl);
    }

    [Fact]
    public void Queries_failures_and_other_types_name_nothing()
    {
        var records = new List<DnsAnswerRecord>();
        Assert.Equal(DnsParseResult.NoAnswers, DnsMessageParser.Parse(DnsMessages.Query("x.test").Build(), records, out _));
        Assert.Equal(DnsParseResult.NoAnswers, DnsMessageParser.Parse(DnsMessages.Response("x.test", rcode: 3).Build(), records, out _));
        var mx = DnsMessages.Response("x.test", type: 15).Record("x.test", 15, 300, [0, 10, 0]).Build();
        Assert.Equal(DnsParseResult.NoAnswers, DnsMessageParser.Parse(mx, records, out _));
        Assert.Equal(DnsParseResult.BadRecord, DnsMessageParser.Parse(DnsMessages.Response("x.test").Record("x.test", 1, 300, [1, 2, 3]).Build(), records, out _));
    }

    [Fact]
    public void Every_truncation_of_a_response_is_counted_as_truncated()
    {
        var message = DnsMessages.Response("www.example.com")
            .Cname("www.example.com", "edge.example.net")
            .A("edge.example.net", "192.0.2.1")
            .Aaaa("edge.example.net", "2001:db8::1")
            .Build();
        var records = new List<DnsAnswerRecord>();
        for (var length = 0; length < message.Length; length++)
        {
            Assert.Equal(DnsParseResult.Truncated, DnsMessageParser.Parse(message.AsSpan(0, length), records, out _));
        }
    }

    [Fact]
    public void Looping_and_forward_compression_pointers_end_the_name()
    {
        var records = new List<DnsAnswerRecord>();
        // The question's name is a pointer to itself.
        byte[] self = [0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1];
        Assert.Equal(DnsParseResult.BadName, DnsMessageParser.Parse(self, records, out _));

        // Two names pointing at each other: the answer's owner points to the question, whose label points on to the answer.
        byte[] mutual = [0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1, (byte)'a', 0xC0, 18, 0, 1, 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4];
        Assert.Equal(DnsParseResult.BadName, DnsMessageParser.Parse(mutual, records, out _));

        // A pointer forward, past the end, and a reserved label type.
        byte[] forward = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 16, 0, 1, 0, 1, 0];
        Assert.Equal(DnsParseResult.BadName, DnsMessageParser.Parse(forward, records, out _));
        byte[] reserved = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 1, 0, 0, 1, 0, 1];
        Assert.Equal(DnsParseResult.BadName, DnsMessageParser.Parse(reserved, records, out _));
    }

    [Fact]
    public void Huge_counts_stop_at_the_data_or_at_the_record_limit()
    {
        var records = new List<DnsAnswerRecord>();
        byte[] empty = [0, 1, 0x81, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        Assert.Equal(DnsParseResult.Truncated, DnsMessageParser.Parse(empty, records, out _));

        var many = DnsMessages.Response("many.test");
        for (var i = 0; i < 200; i++)
        {
            many.A("many.test", $"192.0.2.{i}");
        }

        var message = many.Build();
        message[6] = 0xFF;
        message[7] = 0xFF;
        Assert.Equal(DnsParseResult.Answered, DnsMessageParser.Parse(message, records, out _));
        Assert.Equal(DnsMessageParser.MaxRecords, records.Count);
    }

    [Fact]
    public void Random_and_mutated_messages_never_throw()
    {
        var random = new Random(20261127);
        var records = new List<DnsAnswerRecord>();
        var valid = DnsMessages.Response("www.example.com")
            .Cname("www.example.com", "edge.example.net")
            .A("edge.example.net", "192.0.2.1")
            .Aaaa("edge.example.net", "2001:db8::1")
            .Build();
        var counts = new int[Enum.GetValues<DnsParseResult>().Length];
        for (var i = 0; i < 200_000; i++)
        {
            byte[] message;
            if (i % 2 == 0)
            {
                message = new byte[random.Next(0, 600)];
                random.NextBytes(message);
                if (message.Length >= 4 && i % 4 == 0)
                {
                    // Looks like a successful response, so the parse gets past the header.
                    message[2] = 0x81;
                    message[3] = 0x80;
                }
            }
            else
            {
                message = (byte[])valid.Clone();
                for (var flips = random.Next(1, 6); flips > 0; flips--)
                {
                    message[random.Next(message.Length)] = (byte)random.Next(256);
                }
            }

            counts[(int)DnsMessageParser.Parse(message, records, out _)]++;
            Assert.True(records.Count <= DnsMessageParser.MaxRecords);
        }

        // The fuzzing reached every outcome, so it exercised every path that ends one.
        Assert.All(counts, c => Assert.True(c > 0, string.Join(", ", counts)));
    }
}
