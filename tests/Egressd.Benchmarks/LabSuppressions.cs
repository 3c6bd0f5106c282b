// The network-namespace lab is shared with the tests (whose assembly is Linux-only); here only the
// Linux-only churn benchmark uses it.
[assembly: System.Diagnostics.CodeAnalysis.SuppressMessage("Interoperability", "CA1416", Scope = "member",
    Target = "~M:Egressd.Tests.Infrastructure.NetnsLab.SocketIn(System.String,System.Net.Sockets.AddressFamily,System.Net.Sockets.SocketType,System.Net.Sockets.ProtocolType)~System.Net.Sockets.Socket",
    Justification = "Called from the Linux-only churn benchmark.")]
