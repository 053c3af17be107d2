using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Security;

/// <summary>
/// Checks the TLS settings and the files they name before anything listens or connects: a bad certificate found at the
/// first handshake would surface as a cluster that silently does not form.
/// </summary>
/// <param name="server">
/// True for a silo: its certificate also answers inbound connections, so it must allow server authentication too.
/// </param>
public sealed class ClusterTlsOptionsValidator(bool server) : IValidateOptions<ClusterTlsOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterTlsOptions options)
    {
        var failures = new List<string>();
        const string s = ClusterTlsOptions.Section;
        (string Key, string? Value)[] settings =
        [
            (nameof(options.CertificateFile), options.CertificateFile),
            (nameof(options.KeyFile), options.KeyFile),
            (nameof(options.CaFile), options.CaFile),
            (nameof(options.PeerName), options.PeerName),
            (nameof(options.ClientPeerName), options.ClientPeerName),
        ];
        if (!options.Enabled)
        {
            // A certificate configured but not used would leave open a cluster its operator believes closed.
            var set = settings.Where(setting => !string.IsNullOrWhiteSpace(setting.Value)).Select(setting => $"{s}:{setting.Key}").ToList();
            if (set.Count > 0)
            {
                failures.Add($"{string.Join(", ", set)} {(set.Count == 1 ? "is" : "are")} set but {s}:{nameof(options.Enabled)} is not true: " +
                             "set it to true to use TLS, or remove them.");
            }

            return Result(failures);
        }

        foreach (var (key, file) in settings.Take(3))
        {
            if (string.IsNullOrWhiteSpace(file))
            {
                failures.Add($"{s}:{key} is required when {s}:{nameof(options.Enabled)} is true.");
            }
            else if (!File.Exists(file))
            {
                failures.Add($"{s}:{key} names a file that does not exist: '{file}'.");
            }
        }

        foreach (var (key, peer) in settings.Skip(3))
        {
            if (peer is { Length: > 0 } && Uri.CheckHostName(peer) != UriHostNameType.Dns)
            {
                failures.Add($"{s}:{key} must be a DNS name (was '{peer}').");
            }
        }

        if (options.ReloadInterval <= TimeSpan.Zero)
        {
            failures.Add($"{s}:{nameof(options.ReloadInterval)} must be positive (was {options.ReloadInterval}).");
        }

        if (failures.Count == 0)
        {
            CheckFiles(options, failures);
        }

        return Result(failures);
    }

    private void CheckFiles(ClusterTlsOptions options, List<string> failures)
    {
        const string s = ClusterTlsOptions.Section;
        ClusterTrust trust;
        try
        {
            trust = ClusterTrust.Load(options);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            failures.Add($"{s}:{nameof(options.CertificateFile)} '{options.CertificateFile}', {s}:{nameof(options.KeyFile)} '{options.KeyFile}' " +
                         $"and {s}:{nameof(options.CaFile)} '{options.CaFile}' must be a PEM certificate, its private key and PEM CA certificates: {ex.Message}");
            return;
        }

        using (trust)
        {
            var certificate = trust.Certificate;
            var file = $"{s}:{nameof(options.CertificateFile)} '{options.CertificateFile}'";
            if (trust.AuthorityCount == 0)
            {
                failures.Add($"{s}:{nameof(options.CaFile)} '{options.CaFile}' holds no PEM certificate.");
                return;
            }

            if (!ClusterTrust.AllowsUsage(certificate, ClusterTrust.ClientAuthentication))
            {
                failures.Add($"{file} does not allow client authentication (extended key usage clientAuth), which every end of the cluster needs.");
            }

            if (server && !ClusterTrust.AllowsUsage(certificate, ClusterTrust.ServerAuthentication))
            {
                failures.Add($"{file} does not allow server authentication (extended key usage serverAuth), which a silo needs.");
            }

            if (trust.ChainErrors(certificate) is { } errors)
            {
                failures.Add($"{file} is not valid under a CA of {s}:{nameof(options.CaFile)} '{options.CaFile}': {errors}.");
            }

            // A silo's certificate carries the silos' name, a client's the clients' name: what the other end asks for.
            var (nameKey, name) = server ? (nameof(options.PeerName), options.PeerName) : (nameof(options.ClientPeerName), options.ClientPeerName);
            if (name is { Length: > 0 } && !certificate.MatchesHostname(name, allowWildcards: true, allowCommonName: false))
            {
                failures.Add($"{file} does not carry the name {s}:{nameKey} '{name}' (a DNS subject alternative name), so its peers would refuse it.");
            }
        }
    }

    private static ValidateOptionsResult Result(List<string> failures) =>
        failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
}
