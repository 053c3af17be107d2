using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Api.Auth;

/// <summary>Finds the tenant of a bearer key by its SHA-256, in the same time whichever key matches, or none.</summary>
public sealed class ApiKeys(IOptions<ApiOptions> options)
{
    private readonly (byte[] Hash, ApiCaller Caller)[] _keys = options.Value.Keys
        .Select(k => (Convert.FromHexString(k.Sha256), new ApiCaller(k.Tenant, KeyIdOf(k.Sha256))))
        .ToArray();

    /// <returns>The caller of a valid <c>Authorization: Bearer KEY</c> header; else null.</returns>
    public ApiCaller? Find(string? authorization)
    {
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[scheme.Length..].Trim()));
        ApiCaller? found = null;
        // Every key is compared, each in fixed time, so the time taken tells nothing about which hash came close.
        foreach (var (keyHash, caller) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, keyHash))
            {
                found = caller;
            }
        }

        return found;
    }

    /// <summary>
    /// What counts a key's batches in Redis: 16 hex digits of the SHA-256 of its configured hash, so Redis holds
    /// nothing that could be matched against the Secret.
    /// </summary>
    private static string KeyIdOf(string sha256) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(sha256.ToLowerInvariant())))[..16];
}
