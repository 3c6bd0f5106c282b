namespace Egressd.Shared.Hosting;

/// <summary>Which service this process is, for logs and error lines.</summary>
public sealed record EgressdService(string Name);
