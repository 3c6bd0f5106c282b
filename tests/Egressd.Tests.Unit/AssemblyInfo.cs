// The tests drive the Linux kernel (netlink, network namespaces, conntrack).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
