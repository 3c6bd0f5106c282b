using System.Globalization;
using Egressd.Local.Demo;
using Microsoft.Extensions.Options;
using Prometheus;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Egressd.Local.View;

/// <summary>
/// The live terminal view of <c>run.sh</c>: per window the top flows (source workload →
/// destination, traffic class, bytes/s, $/h at list prices) and each class's total with its
/// projected month, the pipeline's health, and, when
/// the host's conntrack stays empty, what to do about it. The logs stay JSON in the log file.
/// </summary>
internal sealed class TerminalView(IOptions<ViewOptions> options, IOptions<DemoOptions> demo, ViewWindows windows, CollectorRegistry registry) : BackgroundService
{
    /// <summary>Reads of an empty table before the view says there is nothing to show here.</summary>
    private const int EmptyReadsBeforeHint = 3;

    public const string EmptyHint =
        "The conntrack table is empty: nothing on this host uses connection tracking, so there are no flows to show. To see egressd at work: sudo ./run.sh --demo";

    private static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (settings.Mode == ViewMode.Off)
        {
            return;
        }

        await using var stream = Open(settings.Output);
        await using var writer = new StreamWriter(stream) { AutoFlush = true };
        var live = settings.Mode == ViewMode.Live;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = live ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = live ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = live ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        if (!live)
        {
            // A file or a pipe has no width: rows (with their $/h) stay whole lines for grep rather than wrap at 80.
            console.Profile.Width = 160;
        }

        try
        {
            if (live)
            {
                await RunLiveAsync(console, stoppingToken);
            }
            else
            {
                await RunLinesAsync(console, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Where the view goes: after whatever the output already holds, as run.sh's own lines do.</summary>
    private static Stream Open(string? output) => output switch
    {
        null or "" => Console.OpenStandardOutput(),
        _ when OperatingSystem.IsLinux() && DescriptorStream.Named(output) is { } descriptor => new DescriptorStream(descriptor),
        _ => new FileStream(output, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None),
    };

    /// <summary>Starts drawing at the first window (or the hint), so run.sh's banner stays above it.</summary>
    private async Task RunLiveAsync(IAnsiConsole console, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Refresh);
        PipelineHealth health;
        do
        {
            health = await PipelineHealth.ReadAsync(registry, stoppingToken);
        }
        while (windows.Latest is null && !ShowHint(health) && await timer.WaitForNextTickAsync(stoppingToken));

        await console.Live(Render(windows.Latest, health)).AutoClear(false).StartAsync(async context =>
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                context.UpdateTarget(Render(windows.Latest, await PipelineHealth.ReadAsync(registry, stoppingToken)));
            }
        });
    }

    /// <summary>Each window once, as it arrives; the hint once.</summary>
    private async Task RunLinesAsync(IAnsiConsole console, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Refresh);
        var shown = 0;
        var hinted = false;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var window = windows.Latest;
            var health = await PipelineHealth.ReadAsync(registry, stoppingToken);
            if (window is not null && window.Sequence != shown)
            {
                shown = window.Sequence;
                console.Write(Render(window, health));
                console.WriteLine();
            }
            else if (!hinted && ShowHint(health))
            {
                hinted = true;
                console.WriteLine(EmptyHint);
            }
        }
    }

    private bool ShowHint(PipelineHealth health) =>
        demo.Value.PlanFile is not { Length: > 0 } && windows.FlowsSeen == 0 && health.Reads >= EmptyReadsBeforeHint && health.ConntrackEntries == 0;

    private Rows Render(ViewWindow? window, PipelineHealth health)
    {
        var rows = new List<IRenderable>();
        if (window is null)
        {
            rows.Add(new Text("Waiting for the first window ..."));
        }
        else
        {
            var seconds = (window.End - window.Start).TotalSeconds;
            rows.Add(new Markup(Markup.Escape(
                $"egressd · node {window.Node} · window {window.Start.ToLocalTime():HH:mm:ss}–{window.End.ToLocalTime():HH:mm:ss} ({seconds.ToString("0.0", CultureInfo.InvariantCulture)} s)")));
            var table = new Table().Border(TableBorder.Simple)
                .AddColumn("source")
                .AddColumn("destination")
                .AddColumn("class")
                .AddColumn(new TableColumn("bytes/s").RightAligned())
                .AddColumn(new TableColumn("$/h").RightAligned());
            foreach (var flow in window.Flows)
            {
                table.AddRow(Markup.Escape(flow.Source), Markup.Escape(flow.Destination), Markup.Escape(flow.TrafficClass), Rate(flow.BytesPerSecond), Markup.Escape(Dollars(flow.DollarsPerHour)));
            }

            if (window.Flows.Count == 0)
            {
                table.AddRow("(no flows in this window)", "", "", "", "");
            }

            rows.Add(table);
            rows.Add(new Text("per class: " + (window.Classes.Count == 0 ? "-" : string.Join(" · ", window.Classes.Select(c => $"{c.TrafficClass} {Rate(c.BytesPerSecond)}" + (c.DollarsPerHour > 0 ? $" ({Dollars(c.DollarsPerHour * HoursPerMonth)}/month)" : ""))))));
        }

        rows.Add(new Text(string.Create(CultureInfo.InvariantCulture,
            $"pipeline: windows published {health.WindowsPublished:0} · batches applied {health.BatchesApplied:0} · faults {health.Faults:0} · read failures {health.ReadFailures:0} · publish failures {health.PublishFailures:0}")));
        if (ShowHint(health))
        {
            rows.Add(new Text(EmptyHint));
        }

        return new Rows(rows);
    }

    /// <summary>Hours in an average month (730, as cloud price pages count a month).</summary>
    private const decimal HoursPerMonth = 730;

    /// <summary>An amount in dollars to four significant places below a cent, "$0" for free.</summary>
    private static string Dollars(decimal dollars) => dollars switch
    {
        0 => "$0",
        >= 100 => string.Create(CultureInfo.InvariantCulture, $"${dollars:0}"),
        >= 0.01m => string.Create(CultureInfo.InvariantCulture, $"${dollars:0.00}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"${dollars:0.######}"),
    };

    private static string Rate(double bytesPerSecond) => bytesPerSecond switch
    {
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytesPerSecond / 1_000_000:0.0} MB/s"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{bytesPerSecond / 1_000:0.0} kB/s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytesPerSecond:0} B/s"),
    };
}
