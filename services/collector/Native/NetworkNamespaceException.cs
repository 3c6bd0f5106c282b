namespace Egressd.Collector.Native;

/// <summary>Entering a network namespace failed, with the errno of setns(2).</summary>
public sealed class NetworkNamespaceException(string operation, int errno) : SystemCallException(operation, errno);
