using System.Globalization;
using System.Text.Json;

namespace Egressd.Exporter.CostReport;

/// <summary>Writes the report's rows, most expensive first, with the month they project to.</summary>
internal static class CostReportWriter
{
    // A month as cloud bills project one: 730 hours.
    private static readonly TimeSpan Month = TimeSpan.FromHours(730);

    public static void Write(TextWriter output, CostReportFormat format, IReadOnlyList<CostReportRow> rows, TimeSpan period)
    {
        var toMonth = (decimal)(Month / period);
        switch (format)
        {
            case CostReportFormat.Csv:
                output.WriteLine("namespace,workload,egress_usd,ingress_usd,nat_usd,total_usd,projected_month_usd");
                foreach (var row in rows)
                {
                    output.WriteLine(string.Join(',', Csv(row.Namespace), Csv(row.Workload), Usd(row.Egress), Usd(row.Ingress), Usd(row.Nat), Usd(row.Total), Usd(row.Total * toMonth)));
                }

                break;
            case CostReportFormat.Json:
                output.WriteLine(Json(rows, period, toMonth));
                break;
            default:
                Table(output, rows, period, toMonth);
                break;
        }
    }

    private static string Json(IReadOnlyList<CostReportRow> rows, TimeSpan period, decimal toMonth)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("period_seconds", (long)period.TotalSeconds);
            json.WriteStartArray("workloads");
            foreach (var row in rows)
            {
                json.WriteStartObject();
                json.WriteString("namespace", row.Namespace);
                json.WriteString("workload", row.Workload);
                json.WriteNumber("egress_usd", Round(row.Egress));
                json.WriteNumber("ingress_usd", Round(row.Ingress));
                json.WriteNumber("nat_usd", Round(row.Nat));
                json.WriteNumber("total_usd", Round(row.Total));
                json.WriteNumber("projected_month_usd", Round(row.Total * toMonth));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Table(TextWriter output, IReadOnlyList<CostReportRow> rows, TimeSpan period, decimal toMonth)
    {
        string[] header = ["NAMESPACE", "WORKLOAD", "EGRESS $", "INGRESS $", "NAT $", "TOTAL $", "MONTH $"];
        var cells = rows.Select(r => new[] { r.Namespace, r.Workload, Usd(r.Egress), Usd(r.Ingress), Usd(r.Nat), Usd(r.Total), Usd(r.Total * toMonth) }).ToList();
        var widths = header.Select((h, i) => cells.Select(c => c[i].Length).Append(h.Length).Max()).ToArray();
        output.WriteLine($"Traffic cost over the last {Duration(period)}, most expensive first; MONTH projects the period to 730 hours.");
        output.WriteLine(Line(header, widths));
        foreach (var row in cells)
        {
            output.WriteLine(Line(row, widths));
        }

        if (rows.Count == 0)
        {
            output.WriteLine("(no cost recorded in that period: is egressd_transfer_cost_usd_total scraped by this Prometheus?)");
        }
    }

    // Names left-aligned, amounts right-aligned.
    private static string Line(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i < 2 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();

    private static string Usd(decimal amount) => Round(amount).ToString("0.000000", CultureInfo.InvariantCulture);

    private static decimal Round(decimal amount) => Math.Round(amount, 6, MidpointRounding.ToEven);

    private static string Csv(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) < 0 ? text : "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Duration(TimeSpan period) =>
        period.TotalDays >= 1 && period.TotalDays == Math.Floor(period.TotalDays) ? $"{period.TotalDays:0} d"
        : period.TotalHours >= 1 && period.TotalHours == Math.Floor(period.TotalHours) ? $"{period.TotalHours:0} h"
        : $"{period.TotalMinutes:0} min";
}
