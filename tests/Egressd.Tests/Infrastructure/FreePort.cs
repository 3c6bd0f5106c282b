using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Egressd.Tests.Infrastructure;

internal static class FreePort
{
    // Below the kernel's ephemeral range (32768 and up by default) and the private brokers' ports
    // (tests/private-rabbitmq.sh picks 20000 and up): a port handed out here is not also given to
    // some outgoing connection or another test's listener before the service binds it.
    private const int First = 10_000;
    private const int Last = 19_999;

    private static readonly ConcurrentDictionary<int, bool> HandedOut = new();

    public static int Next()
    {
        for (var attempt = 0; attempt < 1_000; attempt++)
        {
            var port = Random.Shared.Next(First, Last + 1);
            if (!HandedOut.TryAdd(port, true))
            {
                continue;
            }

            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use by something else: try another.
            }
        }

        throw new InvalidOperationException($"no free TCP port on 127.0.0.1 between {First} and {Last}");
    }
}
