using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Egressd.Collector.Native;

/// <summary>
/// Runs code inside another network namespace: a short-lived thread enters it with setns(2), runs
/// the code and exits. A socket opened there stays bound to that namespace, which is how the
/// netlink socket, the DNS capture and the local runner reach a namespace other than their own.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class NetworkNamespace
{
    /// <summary>Runs <paramref name="action"/> on a throwaway thread inside the namespace (null: this process's).</summary>
    /// <param name="netnsPath">A network namespace file (/proc/1/ns/net, /run/netns/NAME), or null for this process's.</param>
    public static T Run<T>(string? netnsPath, Func<T> action)
    {
        if (netnsPath is null)
        {
            return action();
        }

        using var ns = File.OpenHandle(netnsPath, FileMode.Open, FileAccess.Read);
        T result = default!;
        Exception? failure = null;
        // setns changes only the calling thread; a thread of our own, thrown away afterwards,
        // keeps the namespace away from the thread pool.
        var thread = new Thread(() =>
        {
            try
            {
                if (Libc.SetNs((int)ns.DangerousGetHandle(), Libc.CLONE_NEWNET) != 0)
                {
                    throw new NetworkNamespaceException($"setns({netnsPath})", Marshal.GetLastPInvokeError());
                }

                result = action();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        })
        { IsBackground = true, Name = "egressd-netns" };
        thread.Start();
        thread.Join();
        return failure is null ? result : throw failure;
    }
}
