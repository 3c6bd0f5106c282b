namespace Egressd.Local.Demo;

/// <summary>
/// One kind of demo traffic: every interval, a TCP connection from a pod (<see cref="Client"/>, a
/// network namespace) to <see cref="Target"/> (an address, or a name asked of the plan's DNS
/// server), served in <see cref="Server"/>, that uploads and downloads the given bytes.
/// </summary>
public sealed record DemoFlow
{
    public required string Name { get; init; }

    public required string Client { get; init; }

    public required string Server { get; init; }

    public required string Target { get; init; }

    public required int Port { get; init; }

    public int Upload { get; init; }

    public int Download { get; init; }
}
