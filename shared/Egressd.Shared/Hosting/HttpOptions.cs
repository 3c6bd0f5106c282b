namespace Egressd.Shared.Hosting;

/// <summary>Settings under <c>Egressd:Http</c>: where /healthz, /readyz and /metrics are served.</summary>
public sealed class HttpOptions
{
    public const string Section = "Egressd:Http";

    /// <summary>TCP port (collector 6061, enricher 6062, exporter 6060, local runner 6060).</summary>
    public int Port { get; set; }

    /// <summary>Address to listen on; 0.0.0.0 listens on every IPv4 and IPv6 address.</summary>
    public string BindAddress { get; set; } = "0.0.0.0";
}
