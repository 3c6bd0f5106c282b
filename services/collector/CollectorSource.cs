namespace Egressd.Collector;

/// <summary>The <c>Egressd:Collector:Source</c> setting: a flow source, or <c>Auto</c> to detect one.</summary>
public enum CollectorSource
{
    Auto,
    Netfilter,
    Cilium,
    Replay,
}
