using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Egressd.Exporter.Sinks;

namespace Egressd.Exporter.CostReport;

/// <summary>
/// <c>cost-report --prometheus URL [--period 24h] [--top 20] [--format table|csv|json]</c>: the
/// workloads whose traffic cost most over a period, from the <c>egressd_transfer_cost_usd_total</c>
/// series a Prometheus scraped, by charge, with the month it projects to: for the people who take
/// the figure to finance. Exit code 0 with the rows, 1 when Prometheus did not answer, 2 for bad arguments.
/// </summary>
internal static partial class CostReportCommand
{
    public const string Usage = "usage: Egressd.Exporter cost-report --prometheus URL [--period 24h] [--top 20] [--format table|csv|json]";

    private const string Name = "egressd-exporter cost-report";

    public static bool IsCommand(string[] args) => args is ["cost-report", ..];

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        Uri? prometheus = null;
        var period = "24h";
        var top = 20;
        var format = CostReportFormat.Table;
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--prometheus" when value is not null:
                    if (!Uri.TryCreate(value, UriKind.Absolute, out prometheus) || prometheus.Scheme is not ("http" or "https"))
                    {
                        error.WriteLine($"{Name}: --prometheus '{value}' is not an http:// or https:// URL");
                        return 2;
                    }

                    break;
                case "--period" when value is not null:
                    period = value;
                    break;
                case "--top" when value is not null:
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top < 1)
                    {
                        error.WriteLine($"{Name}: --top '{value}' must be a whole number of at least 1");
                        return 2;
                    }

                    break;
                case "--format" when value is not null:
                    if (!Enum.TryParse(value, ignoreCase: true, out format) || !Enum.IsDefined(format) || int.TryParse(value, out _))
                    {
                        error.WriteLine($"{Name}: --format '{value}' must be table, csv or json");
                        return 2;
                    }

                    break;
                default:
                    error.WriteLine($"{Name}: unknown argument '{args[i]}'; {Usage}");
                    return 2;
            }

            i++;
        }

        if (prometheus is null)
        {
            error.WriteLine($"{Name}: --prometheus is required (the Prometheus that scrapes the exporter, e.g. http://prometheus:9090); {Usage}");
            return 2;
        }

        if (ParsePeriod(period) is not { } span)
        {
            error.WriteLine($"{Name}: --period '{period}' must be a Prometheus duration such as 30m, 24h, 7d or 4w");
            return 2;
        }

        // One query, by charge: the table's columns and its total come from the same instant.
        var query = $"sum by (src_namespace, src_workload, charge) (increase(egressd_transfer_cost_usd_total[{period}]))";
        var bare = new UriBuilder(prometheus) { UserName = "", Password = "", Query = "", Fragment = "" }.Uri;
        var url = new Uri(bare.AbsoluteUri.TrimEnd('/') + "/api/v1/query?query=" + Uri.EscapeDataString(query));
        string body;
        HttpStatusCode status;
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (prometheus.UserInfo.Length > 0)
            {
                // user:password in the URL is basic authentication, as curl and Grafana read it.
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
                    "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Uri.UnescapeDataString(prometheus.UserInfo))));
            }

            using var response = await http.SendAsync(request, cancellationToken);
            status = response.StatusCode;
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            error.WriteLine($"{Name}: Prometheus at {SinkDestination.Of(prometheus)} did not answer: {ex.Message}");
            return 1;
        }

        if (Parse(body) is not { } rows)
        {
            error.WriteLine($"{Name}: Prometheus at {SinkDestination.Of(prometheus)} refused the query (HTTP {(int)status}): {ErrorOf(body)}");
            return 1;
        }

        var ranked = rows.OrderByDescending(r => r.Total).ThenBy(r => r.Namespace, StringComparer.Ordinal).ThenBy(r => r.Workload, StringComparer.Ordinal).Take(top).ToList();
        CostReportWriter.Write(output, format, ranked, span);
        return 0;
    }

    /// <summary>The instant vector's rows folded into one per workload; null when the answer is not a successful vector.</summary>
    private static List<CostReportRow>? Parse(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.GetProperty("status").GetString() != "success" || root.GetProperty("data").GetProperty("resultType").GetString() != "vector")
            {
                return null;
            }

            var rows = new Dictionary<(string, string), CostReportRow>();
            foreach (var sample in root.GetProperty("data").GetProperty("result").EnumerateArray())
            {
                var metric = sample.GetProperty("metric");
                var ns = Label(metric, "src_namespace");
                var workload = Label(metric, "src_workload");
                var amount = decimal.TryParse(sample.GetProperty("value")[1].GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0m;
                var row = rows.GetValueOrDefault((ns, workload)) ?? new CostReportRow(ns, workload, 0, 0, 0);
                rows[(ns, workload)] = Label(metric, "charge") switch
                {
                    "egress" => row with { Egress = row.Egress + amount },
                    "ingress" => row with { Ingress = row.Ingress + amount },
                    "nat" => row with { Nat = row.Nat + amount },
                    _ => row,
                };
            }

            return [.. rows.Values];
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static string Label(JsonElement metric, string name) =>
        metric.TryGetProperty(name, out var value) ? value.GetString() ?? "" : "";

    private static string ErrorOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("error", out var message) ? message.GetString() ?? "no error text" : "not a query answer";
        }
        catch (JsonException)
        {
            var line = body.Split('\n', 2)[0];
            return line.Length > 200 ? line[..200] : line;
        }
    }

    private static TimeSpan? ParsePeriod(string text)
    {
        var match = PeriodPattern().Match(text);
        if (!match.Success || !long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count is < 1 or > 100_000)
        {
            return null;
        }

        return match.Groups[2].Value switch
        {
            "s" => TimeSpan.FromSeconds(count),
            "m" => TimeSpan.FromMinutes(count),
            "h" => TimeSpan.FromHours(count),
            "d" => TimeSpan.FromDays(count),
            _ => TimeSpan.FromDays(7 * count),
        };
    }

    [GeneratedRegex("^([0-9]+)([smhdw])$")]
    private static partial Regex PeriodPattern();
}
