using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace OrleansLlm.Tests.Security;

/// <summary>What one raw TLS connection to a silo's port saw: the certificate the silo presented, and whether it kept the connection.</summary>
public sealed record TlsProbeResult(X509Certificate2? ServerCertificate, bool Refused, string Outcome);

/// <summary>
/// A TLS handshake with a silo's silo or gateway port as anything could make it, with a chosen client certificate and
/// trusting any server: for what Orleans' own client never tries (a client's certificate on the silo port).
/// </summary>
public static class TlsProbe
{
    // How long a kept connection is watched for a late refusal: TLS 1.3 servers judge the client's certificate after
    // the client has finished its side, so a refusal arrives as an alert on the first read.
    private static readonly TimeSpan RefusalWindow = TimeSpan.FromSeconds(2);

    public static async Task<TlsProbeResult> ConnectAsync(int port, X509Certificate2 clientCertificate, CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port, cancellationToken);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ClientCertificates = [clientCertificate],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate,
            }, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException)
        {
            return new TlsProbeResult(null, Refused: true, $"handshake refused: {ex.Message}");
        }

        var server = tls.RemoteCertificate is { } remote ? new X509Certificate2(remote) : null;
        using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        window.CancelAfter(RefusalWindow);
        try
        {
            var read = await tls.ReadAsync(new byte[64], window.Token);
            return read == 0
                ? new TlsProbeResult(server, Refused: true, "closed after the handshake")
                : new TlsProbeResult(server, Refused: false, $"kept, {read} bytes from the silo");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new TlsProbeResult(server, Refused: false, $"kept for {RefusalWindow.TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException)
        {
            return new TlsProbeResult(server, Refused: true, $"refused after the handshake: {ex.Message}");
        }
    }
}
