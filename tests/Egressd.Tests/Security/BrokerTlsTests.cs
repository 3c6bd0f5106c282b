using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Egressd.Exporter;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Security;

/// <summary>
/// A TLS server on loopback with a self-signed certificate stands in for a broker: the service
/// must refuse it (the password follows the AMQP header) unless its CA file says to trust it.
/// </summary>
public sealed class BrokerTlsTests
{
    private static readonly byte[] AmqpHeader = "AMQP\0\0\u0009\u0001"u8.ToArray();
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static Task<InProcessHost> StartServiceAsync(TlsServer server, CapturedLogs logs, params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "rabbitmq",
            ["Egressd:Bus:RabbitMq:Host"] = "localhost",
            ["Egressd:Bus:RabbitMq:Port"] = server.Port.ToString(),
            ["Egressd:Bus:RabbitMq:Username"] = "egressd",
            ["Egressd:Bus:RabbitMq:Password"] = "not-for-strangers",
            ["Egressd:Bus:RabbitMq:UseTls"] = "true",
            ["Egressd:Exporter:FlowLog:Enabled"] = "false",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return InProcessHost.StartAsync("egressd-exporter", b =>
        {
            b.AddExporter();
            b.Logging.AddProvider(logs);
        }, all);
    }

    private static List<string> Refusals(CapturedLogs logs) => [.. logs.Lines.Where(l => l.Contains("[1002]", StringComparison.Ordinal))];

    [Fact]
    public async Task A_self_signed_broker_is_refused_before_the_AMQP_header_with_one_line_saying_why()
    {
        await using var server = TlsServer.Start();
        var logs = new CapturedLogs();
        await using (await StartServiceAsync(server, logs))
        {
            Assert.True(await Eventually.TrueAsync(() => server.FailedHandshakes >= 2 && Refusals(logs).Count > 0, Patience),
                $"{server.FailedHandshakes} failed handshakes; logs:\n{logs.All}");
        }

        Assert.Empty(server.Received);
        Assert.False(server.RawContains(AmqpHeader), "the AMQP header reached the server");
        // Said once, however often the bus tried again.
        var line = Assert.Single(Refusals(logs));
        Assert.Contains($"Refused the broker at localhost:{server.Port} before sending anything", line, StringComparison.Ordinal);
        Assert.Contains("its certificate chain is not trusted by the system's trust store", line, StringComparison.Ordinal);
        Assert.Contains("Egressd:Bus:RabbitMq:TlsCaFile", line, StringComparison.Ordinal);
        Assert.DoesNotContain("not-for-strangers", logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_certificate_in_the_CA_file_the_handshake_succeeds_and_the_AMQP_header_follows()
    {
        await using var server = TlsServer.Start();
        var logs = new CapturedLogs();
        await using (await StartServiceAsync(server, logs, ("Egressd:Bus:RabbitMq:TlsCaFile", server.CaFile)))
        {
            Assert.True(await Eventually.TrueAsync(() => !server.Received.IsEmpty, Patience),
                $"{server.FailedHandshakes} failed; logs:\n{logs.All}");
        }

        Assert.Equal(AmqpHeader, server.Received.First());
        Assert.Empty(Refusals(logs));
    }

    [Fact]
    public async Task A_trusted_certificate_for_another_name_is_refused_naming_both_names()
    {
        await using var server = TlsServer.Start();
        var logs = new CapturedLogs();
        await using (await StartServiceAsync(server, logs,
            ("Egressd:Bus:RabbitMq:TlsCaFile", server.CaFile), ("Egressd:Bus:RabbitMq:TlsServerName", "rabbitmq.egressd.svc")))
        {
            Assert.True(await Eventually.TrueAsync(() => server.FailedHandshakes >= 1 && Refusals(logs).Count > 0, Patience),
                $"{server.FailedHandshakes} failed handshakes; logs:\n{logs.All}");
        }

        Assert.Empty(server.Received);
        Assert.False(server.RawContains(AmqpHeader), "the AMQP header reached the server");
        var line = Assert.Single(Refusals(logs));
        Assert.Contains("its certificate is not issued to 'rabbitmq.egressd.svc' (it names 'localhost', '127.0.0.1')", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_CA_file_without_the_brokers_CA_is_refused_naming_the_file()
    {
        await using var server = TlsServer.Start();
        await using var other = TlsServer.Start();
        var logs = new CapturedLogs();
        await using (await StartServiceAsync(server, logs, ("Egressd:Bus:RabbitMq:TlsCaFile", other.CaFile)))
        {
            Assert.True(await Eventually.TrueAsync(() => server.FailedHandshakes >= 1 && Refusals(logs).Count > 0, Patience),
                $"{server.FailedHandshakes} failed handshakes; logs:\n{logs.All}");
        }

        Assert.Empty(server.Received);
        var line = Assert.Single(Refusals(logs));
        Assert.Contains($"its certificate chain does not lead to a CA in Egressd:Bus:RabbitMq:TlsCaFile '{other.CaFile}'", line, StringComparison.Ordinal);
    }

    /// <summary>
    /// Accepts TCP on loopback, completes TLS with a fresh self-signed certificate for localhost,
    /// then reads the first 8 bytes the client sends. Keeps every raw byte it received too.
    /// </summary>
    private sealed class TlsServer : IAsyncDisposable
    {
        private readonly TcpListener listener;
        private readonly X509Certificate2 certificate;
        private readonly CancellationTokenSource stop = new();
        private readonly MemoryStream raw = new();
        private readonly Task accepting;
        private int failedHandshakes;

        private TlsServer()
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            CaFile = Path.Combine(Path.GetTempPath(), $"egressd-test-ca-{Guid.NewGuid():N}.pem");
            File.WriteAllText(CaFile, certificate.ExportCertificatePem());
            listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

        public string CaFile { get; }

        /// <summary>Connections that ended without sending a byte of application data.</summary>
        public int FailedHandshakes => Volatile.Read(ref failedHandshakes);

        /// <summary>What the client sent after a completed handshake, decrypted (first 8 bytes per connection).</summary>
        public ConcurrentQueue<byte[]> Received { get; } = new();

        public static TlsServer Start() => new();

        public bool RawContains(byte[] bytes)
        {
            lock (raw)
            {
                return raw.ToArray().AsSpan().IndexOf(bytes) >= 0;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            await accepting;
            certificate.Dispose();
            stop.Dispose();
            File.Delete(CaFile);
        }

        private async Task AcceptAsync()
        {
            var connections = new List<Task>();
            try
            {
                while (true)
                {
                    var client = await listener.AcceptTcpClientAsync(stop.Token);
                    connections.Add(ServeAsync(client));
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }

            await Task.WhenAll(connections);
        }

        private async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                await using var ssl = new SslStream(new RecordingStream(client.GetStream(), raw));
                try
                {
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, stop.Token);

                    // In TLS 1.3 the server's side can finish before the client has judged the
                    // certificate: a refusal shows as an alert on the first read instead.
                    var header = new byte[8];
                    var read = await ssl.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, stop.Token);
                    if (read > 0)
                    {
                        Received.Enqueue(header[..read]);
                        return;
                    }
                }
                catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
                {
                    // Refused (or stopped): counted below.
                }

                Interlocked.Increment(ref failedHandshakes);
            }
        }
    }

    /// <summary>Passes reads through and keeps a copy of every byte, before any decryption.</summary>
    private sealed class RecordingStream(Stream inner, MemoryStream copy) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            lock (copy)
            {
                copy.Write(buffer.Span[..read]);
            }

            return read;
        }

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Flush() => inner.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
