using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace OrleansLlm.Tests.Security;

/// <summary>
/// A Redis connection that sends exactly the commands it is given, over TLS, and reads RESP2 and RESP3 replies: to run
/// another program's command set (KEDA's scaler, written in Go) and single forbidden commands, without the extra
/// commands StackExchange.Redis sends on connecting.
/// </summary>
public sealed class RespClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly SslStream _tls;
    private readonly BufferedStream _in;

    private RespClient(TcpClient tcp, SslStream tls)
    {
        _tcp = tcp;
        _tls = tls;
        _in = new BufferedStream(tls);
    }

    /// <summary>The certificate the server presented.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate? ServerCertificate => _tls.RemoteCertificate;

    public static async Task<RespClient> ConnectAsync(int port, string caFile, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port, cancellationToken);
        using var ca = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(caFile, cancellationToken));
        var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        var policy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
        {
            TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
            RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.Add(ca);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", CertificateChainPolicy = policy }, cancellationToken);
        return new RespClient(tcp, tls);
    }

    /// <summary>Sends one command; returns its reply as text (an error as <c>-ERR ...</c>, an array or map as its items joined).</summary>
    public async Task<string> SendAsync(params string[] args)
    {
        var command = new StringBuilder($"*{args.Length}\r\n");
        foreach (var arg in args)
        {
            command.Append(CultureInfo($"${Encoding.UTF8.GetByteCount(arg)}\r\n{arg}\r\n"));
        }

        await _tls.WriteAsync(Encoding.UTF8.GetBytes(command.ToString()));
        await _tls.FlushAsync();
        return await ReadAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _tls.DisposeAsync();
        _tcp.Dispose();
    }

    private static string CultureInfo(FormattableString s) => FormattableString.Invariant(s);

    private async Task<string> ReadAsync()
    {
        var line = await ReadLineAsync();
        var body = line[1..];
        switch (line[0])
        {
            case '+' or ':' or ',' or '#' or '(':
                return body;
            case '-':
                return line;
            case '_':
                return "(nil)";
            case '$' or '=':
                var length = int.Parse(body, System.Globalization.CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return "(nil)";
                }

                var data = new byte[length + 2];
                await _in.ReadExactlyAsync(data);
                return Encoding.UTF8.GetString(data, 0, length);
            case '*' or '%' or '~' or '>':
                var count = int.Parse(body, System.Globalization.CultureInfo.InvariantCulture) * (line[0] == '%' ? 2 : 1);
                var items = new List<string>();
                for (var i = 0; i < count; i++)
                {
                    items.Add(await ReadAsync());
                }

                return string.Join(" ", items);
            default:
                throw new InvalidDataException($"not a RESP reply: {line}");
        }
    }

    private async Task<string> ReadLineAsync()
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            await _in.ReadExactlyAsync(one);
            if (one[0] == '\n' && line.Length > 0 && line[^1] == '\r')
            {
                return line.ToString(0, line.Length - 1);
            }

            line.Append((char)one[0]);
        }
    }
}
