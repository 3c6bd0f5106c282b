using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Egressd.Contracts;
using Egressd.Shared.Cost;
using Egressd.Shared.Hosting;

namespace Egressd.Exporter.Sinks.Prometheus.Cost;

/// <summary>Renders <c>egressd_transfer_cost_usd_total</c> on <c>/metrics</c>: dollars, from the exact pico-dollar sums.</summary>
internal sealed class CostExposition(CostSeriesStore store, IReadOnlyDictionary<string, string> staticLabels) : IMetricsSource
{
    public const string Name = "egressd_transfer_cost_usd_total";

    public const string Help = "What the source's traffic cost in US dollars at list prices, by charge (egress, ingress, nat), since this exporter started (docs/COST.md).";

    public async Task WriteAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        var series = store.Read();
        if (series.Count == 0)
        {
            return;
        }

        var text = new StringBuilder();
        text.Append("# HELP ").Append(Name).Append(' ').Append(Help).Append('\n');
        text.Append("# TYPE ").Append(Name).Append(" counter\n");
        foreach (var (values, charge, picodollars) in series)
        {
            text.Append(Name);
            var first = true;
            foreach (var (name, value) in Labels(values, charge))
            {
                text.Append(first ? '{' : ',').Append(name).Append("=\"").Append(FlowExposition.Escape(value)).Append('"');
                first = false;
            }

            text.Append("} ").Append(Dollars(picodollars)).Append('\n');
        }

        await output.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()), cancellationToken);
    }

    /// <summary>A pico-dollar sum as dollars: exact decimal digits, never a float's accumulated error.</summary>
    public static string Dollars(Int128 picodollars) =>
        ((decimal)picodollars / FlowCharges.PicodollarsPerDollar).ToString(CultureInfo.InvariantCulture);

    private IEnumerable<(string Name, string Value)> Labels(IReadOnlyList<string> values, ChargeKind charge) =>
        store.LabelNames.Select((name, i) => (name, values[i]))
            .Append((CostLabels.Charge, charge.Name()))
            .Concat(staticLabels.Select(s => (s.Key, s.Value)))
            .OrderBy(l => l.Item1, StringComparer.Ordinal);
}
