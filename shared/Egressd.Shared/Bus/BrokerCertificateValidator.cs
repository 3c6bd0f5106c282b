using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Egressd.Shared.Bus;

/// <summary>
/// Decides whether the broker's TLS certificate is trusted: issued to the expected name, with a
/// chain that leads to the system's trust store or, when <c>TlsCaFile</c> is set, to one of its
/// CAs instead. Installed as the connection's validation callback because MassTransit's own
/// default accepts chain errors: any self-signed certificate with the right name would do, and
/// the password follows the AMQP header. The handshake fails before a byte of AMQP is sent.
/// </summary>
internal sealed partial class BrokerCertificateValidator
{
    private readonly string serverName;
    private readonly string endpoint;
    private readonly string? caFile;
    private readonly X509Certificate2Collection? authorities;
    private readonly ILogger logger;
    private readonly Lock gate = new();
    private string? lastRefusal;

    public BrokerCertificateValidator(RabbitMqOptions rabbit, ILogger logger)
    {
        var nodes = rabbit.Nodes();
        serverName = nodes.Count > 0 ? rabbit.ServerName(nodes[0]) : rabbit.TlsServerName ?? "";
        // The connection does not tell which node presented the certificate: name them all.
        endpoint = string.Join(", ", nodes);
        this.logger = logger;
        if (rabbit.TlsCaFile is { Length: > 0 } file)
        {
            caFile = file;
            // Checked at start by the options validator; a file gone since then trusts nothing.
            authorities = LoadCaFile(file, out _) ?? [];
        }
    }

    /// <summary>The certificates of a PEM bundle, or null with what is wrong with it.</summary>
    public static X509Certificate2Collection? LoadCaFile(string path, out string problem)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            problem = $"cannot be read as PEM certificates: {ex.GetType().Name}: {ex.Message}";
            return null;
        }

        if (certificates.Count == 0)
        {
            problem = "holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
            return null;
        }

        problem = "";
        return certificates;
    }

    /// <summary>The <see cref="RemoteCertificateValidationCallback"/> for the broker connection.</summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var refusal = Refusal(certificate, chain, errors);
        lock (gate)
        {
            // The bus reconnects every few seconds: say why once, and again only when the reason changes.
            if (refusal is not null && refusal != lastRefusal)
            {
                LogRefused(logger, endpoint, refusal);
            }

            lastRefusal = refusal;
        }

        return refusal is null;
    }

    private string? Refusal(X509Certificate? presented, X509Chain? chain, SslPolicyErrors errors)
    {
        if (presented is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return "it presented no certificate";
        }

        using var certificate = new X509Certificate2(presented);
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return $"its certificate is not issued to '{serverName}' (it names {Names(certificate)}); "
                + "connect by a name the certificate carries or set Egressd:Bus:RabbitMq:TlsServerName";
        }

        if (authorities is null)
        {
            return errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors)
                ? $"its certificate chain is not trusted by the system's trust store ({Statuses(chain)}, issuer '{certificate.Issuer}'); "
                    + "set Egressd:Bus:RabbitMq:TlsCaFile to the broker's CA bundle"
                : null;
        }

        // The CA file replaces the system store: a private broker is trusted for its own CA only.
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(authorities);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            // Intermediates the broker sent along.
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(certificate)
            ? null
            : $"its certificate chain does not lead to a CA in Egressd:Bus:RabbitMq:TlsCaFile '{caFile}' ({Statuses(custom)}, issuer '{certificate.Issuer}')";
    }

    private static string Names(X509Certificate2 certificate)
    {
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>()
            .SelectMany(e => e.EnumerateDnsNames().Concat(e.EnumerateIPAddresses().Select(a => a.ToString())))
            .Take(10)
            .ToList();
        return names.Count > 0 ? string.Join(", ", names.Select(n => $"'{n}'")) : $"subject '{certificate.Subject}'";
    }

    private static string Statuses(X509Chain? chain)
    {
        var statuses = chain?.ChainStatus.Select(s => s.Status.ToString()).Distinct().ToList();
        return statuses is { Count: > 0 } ? string.Join(", ", statuses) : "chain errors";
    }

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error,
        Message = "Refused the broker at {Endpoint} before sending anything: {Reason}")]
    private static partial void LogRefused(ILogger logger, string endpoint, string reason);
}
