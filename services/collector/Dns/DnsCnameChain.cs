namespace Egressd.Collector.Dns;

/// <summary>
/// Follows a response's CNAME records from an address record's owner back to the name the
/// client asked for (<c>www.example.com → cdn.example.net → 192.0.2.1</c> names 192.0.2.1
/// <c>www.example.com</c>), as egressd does. The chain lives as long as its shortest-lived link.
/// </summary>
internal static class DnsCnameChain
{
    /// <summary>Longest chain followed; resolvers stop earlier (BIND at 16 as well), and a loop ends here.</summary>
    public const int MaxLinks = 16;

    public static string AskedName(List<DnsAnswerRecord> records, DnsAnswerRecord address, out uint ttl)
    {
        var name = address.Owner;
        ttl = address.Ttl;
        for (var link = 0; link < MaxLinks; link++)
        {
            var found = false;
            foreach (var record in records)
            {
                if (record.IsAlias && string.Equals(record.Target, name, StringComparison.Ordinal))
                {
                    name = record.Owner;
                    ttl = Math.Min(ttl, record.Ttl);
                    found = true;
                    break;
                }
            }

            if (!found)
            {
                break;
            }
        }

        return name;
    }
}
