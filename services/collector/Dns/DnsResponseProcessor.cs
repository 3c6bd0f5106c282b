using System.Buffers.Binary;
using Egressd.Contracts;
using Prometheus;

namespace Egressd.Collector.Dns;

/// <summary>
/// Captured packet → DNS messages → address answers → the map → the inbox, on the capture thread.
/// Never throws: a packet that cannot be read is counted by reason and skipped, so the capture
/// loop goes on whatever arrives.
/// </summary>
internal sealed class DnsResponseProcessor(DnsAnswerMap map, DnsAnswerInbox inbox, TimeProvider time)
{
    private static readonly Counter.Child UdpResponses = DnsMetrics.Responses.WithLabels("udp");
    private static readonly Counter.Child TcpResponses = DnsMetrics.Responses.WithLabels("tcp");
    private static readonly Counter.Child Truncated = DnsMetrics.ParseFailures.WithLabels("truncated");
    private static readonly Counter.Child BadName = DnsMetrics.ParseFailures.WithLabels("bad_name");
    private static readonly Counter.Child BadRecord = DnsMetrics.ParseFailures.WithLabels("bad_record");
    private static readonly Counter.Child TcpIncomplete = DnsMetrics.ParseFailures.WithLabels("tcp_incomplete");
    private static readonly Counter.Child Internal = DnsMetrics.ParseFailures.WithLabels("internal");

    private readonly List<DnsAnswerRecord> records = [];

    /// <summary>Responses read (whatever they held), for the benchmark and tests.</summary>
    public long Responses { get; private set; }

    /// <summary>Responses that could not be read.</summary>
    public long Failures { get; private set; }

    public DnsAnswerMap Map => map;

    public void Process(ReadOnlySpan<byte> packet)
    {
        try
        {
            switch (DnsPacket.Payload(packet, out var payload))
            {
                case DnsTransport.Udp:
                    UdpResponses.Inc();
                    Message(payload);
                    break;
                case DnsTransport.Tcp:
                    // RFC 1035 §4.2.2: each message has a two-byte length first. Only messages
                    // whole within this segment are read; the rest of a longer one is skipped.
                    while (payload.Length >= 2)
                    {
                        int length = BinaryPrimitives.ReadUInt16BigEndian(payload);
                        if (payload.Length - 2 < length)
                        {
                            Failures++;
                            TcpIncomplete.Inc();
                            break;
                        }

                        TcpResponses.Inc();
                        Message(payload.Slice(2, length));
                        payload = payload[(2 + length)..];
                    }

                    break;
            }
        }
        catch (Exception)
        {
            // Not expected (the parser checks every read), but the capture loop must outlive any packet.
            Failures++;
            Internal.Inc();
        }
    }

    private void Message(ReadOnlySpan<byte> message)
    {
        Responses++;
        switch (DnsMessageParser.Parse(message, records, out _))
        {
            case DnsParseResult.Answered:
                Record();
                return;
            case DnsParseResult.NoAnswers:
                return;
            case DnsParseResult.Truncated:
                Truncated.Inc();
                break;
            case DnsParseResult.BadName:
                BadName.Inc();
                break;
            default:
                BadRecord.Inc();
                break;
        }

        Failures++;
    }

    private void Record()
    {
        var now = time.GetUtcNow();
        foreach (var record in records)
        {
            if (record.IsAlias)
            {
                continue;
            }

            var name = DnsCnameChain.AskedName(records, record, out var ttl);
            if (name.Length == 0)
            {
                continue;
            }

            DnsMetrics.AnswersRecorded.Inc();
            if (map.Record(record.Address, name, ttl, now, out var expiresAt))
            {
                if (inbox.Post(new DnsAnswer { Ip = record.Address, Name = name, ExpiresAt = expiresAt }))
                {
                    DnsMetrics.AnswersShipped.Inc();
                }
                else
                {
                    DnsMetrics.AnswersDropped.Inc();
                }
            }
        }
    }
}
