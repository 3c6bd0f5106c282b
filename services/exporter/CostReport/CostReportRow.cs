namespace Egressd.Exporter.CostReport;

/// <summary>What one workload's traffic cost over the period, by charge, in US dollars.</summary>
internal sealed record CostReportRow(string Namespace, string Workload, decimal Egress, decimal Ingress, decimal Nat)
{
    public decimal Total => Egress + Ingress + Nat;
}
