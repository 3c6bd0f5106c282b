using System.Buffers.Binary;
using Egressd.Contracts;
using Prometheus;

namespace Egressd.Collector.Dns;

/// <summary>
/// Captured packet → DNS messages → address answers → the map → the inbox, on the capture thread.
/// Never throws: a packet that cannot be read is counted by reason and skipped, so the capture
/// loop goes on whatever arrives.
/// </summary>
internal sealed class DnsResponseProcessor(DnsAnswerMap map, DnsAnswerInbox inbox, TimeProvider time, DnsMetrics metrics)
{
    private readonly Counter.Child udpResponses = metrics.Responses.WithLabels("udp");
    private readonly Counter.Child tcpResponses = metrics.Responses.WithLabels("tcp");
    private readonly Counter.Child truncated = metrics.ParseFailures.WithLabels("truncated");
    private readonly Counter.Child badName = metrics.ParseFailures.WithLabels("bad_name");
    private readonly Counter.Child badRecord = metrics.ParseFailures.WithLabels("bad_record");
    private readonly Counter.Child tcpIncomplete = metrics.ParseFailures.WithLabels("tcp_incomplete");
    private readonly Counter.Child internalFailures = metrics.ParseFailures.WithLabels("internal");

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
                    udpResponses.Inc();
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
                            tcpIncomplete.Inc();
                            break;
                        }

                        tcpResponses.Inc();
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
            internalFailures.Inc();
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
                truncated.Inc();
                break;
            case DnsParseResult.BadName:
                badName.Inc();
                break;
            default:
                badRecord.Inc();
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

            metrics.AnswersRecorded.Inc();
            if (map.Record(record.Address, name, ttl, now, out var expiresAt))
            {
                if (inbox.Post(new DnsAnswer { Ip = record.Address, Name = name, ExpiresAt = expiresAt }))
                {
                    metrics.AnswersShipped.Inc();
                }
                else
                {
                    metrics.AnswersDropped.Inc();
                }
            }
        }
    }
}
