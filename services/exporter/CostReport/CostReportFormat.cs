namespace Egressd.Exporter.CostReport;

/// <summary>How <c>cost-report</c> prints its rows: a table for people, CSV for a spreadsheet, JSON for a program.</summary>
internal enum CostReportFormat
{
    Table,
    Csv,
    Json,
}
