using System.Diagnostics;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// Debian's dnsmasq serving fixed records from a lab namespace, over UDP and TCP, and a client
/// (dig) to ask it from another one. Records: <c>--host-record=NAME,ADDRESS[,ADDRESS][,TTL]</c>
/// and <c>--cname=ALIAS,TARGET[,TTL]</c> arguments.
/// </summary>
internal sealed class DnsServer : IDisposable
{
    private readonly Process process;
    private readonly NetnsLab lab;

    private DnsServer(NetnsLab lab, string host, Process process)
    {
        this.lab = lab;
        Host = host;
        this.process = process;
    }

    public string Host { get; }

    public static DnsServer Start(NetnsLab lab, string host, params string[] records)
    {
        foreach (var tool in new[] { "dnsmasq", "dig" })
        {
            if (Shell.TryRun("sh", "-c", $"command -v {tool}").Code != 0)
            {
                throw new InvalidOperationException($"DNS tests need '{tool}' (Debian: apt-get install dnsmasq-base bind9-dnsutils).");
            }
        }

        var start = new ProcessStartInfo("ip",
        [
            "netns", "exec", NetnsLab.Namespace(lab.Id, host), "dnsmasq", "--keep-in-foreground", "--log-facility=-",
            "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll", "--user=root", "--pid-file=",
            "--bind-interfaces", $"--listen-address={NetnsLab.V4(host)},{NetnsLab.V6(host)}", "--local-ttl=600",
            .. records,
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new DnsServer(lab, host, process);
        // Ready when it answers on both its addresses (dnsmasq answers its own version under CHAOS).
        var ready = SpinWait.SpinUntil(
            () => process.HasExited
                || (lab.TryExec(host, "dig", "+tcp", "+time=1", "+tries=1", $"@{NetnsLab.V4(host)}", "version.bind", "txt", "chaos").Code == 0
                    && lab.TryExec(host, "dig", "+tcp", "+time=1", "+tries=1", $"@{NetnsLab.V6(host)}", "version.bind", "txt", "chaos").Code == 0),
            TimeSpan.FromSeconds(20));
        if (!ready || process.HasExited)
        {
            server.Dispose();
            throw new InvalidOperationException($"dnsmasq in {host} did not start (exit {(process.HasExited ? process.ExitCode : "none")})");
        }

        return server;
    }

    /// <summary>Asks from <paramref name="client"/>; returns dig's short answer lines (CNAME targets, then addresses).</summary>
    public IReadOnlyList<string> Resolve(string client, string name, string type, bool tcp = false, bool v6Server = false)
    {
        // A first packet across a fresh IPv6 path can wait on neighbour discovery longer than dig does:
        // a timeout is asked again, an answer never is.
        string output;
        var attempts = 0;
        do
        {
            output = lab.Exec(client, ["dig", tcp ? "+tcp" : "+notcp", "+short", "+time=2", "+tries=2", $"@{(v6Server ? NetnsLab.V6(Host) : NetnsLab.V4(Host))}", name, type]);
        }
        while (output.Contains(";; communications error", StringComparison.Ordinal) && ++attempts < 5);

        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith(";;", StringComparison.Ordinal)).ToArray();
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        process.Dispose();
    }
}
