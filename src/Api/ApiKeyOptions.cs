namespace OrleansLlm.Api;

/// <summary>One API key of <see cref="ApiOptions.Keys"/>: the hash of the key, never the key.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The tenant whose files and batches the key reaches: letters, digits, '.', '_' or '-'.</summary>
    public string Tenant { get; set; } = string.Empty;

    /// <summary>The key's SHA-256 as 64 hex digits (<c>printf %s "$KEY" | sha256sum</c>).</summary>
    public string Sha256 { get; set; } = string.Empty;
}
