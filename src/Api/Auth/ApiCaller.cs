namespace OrleansLlm.Api.Auth;

/// <summary>Who a request acts for: its key's tenant, and the key's id (a hash of its hash, never the key).</summary>
public sealed record ApiCaller(string Tenant, string KeyId);
