namespace OrleansLlm.Api.Files;

/// <summary>A file as the API describes it (OpenAI's file object).</summary>
/// <param name="Purpose"><c>batch</c> for uploads; <c>batch_output</c> for a batch's output and error files.</param>
/// <param name="Batch">The batch whose results (or dead letters, with <paramref name="Errors"/>) the file is; null for an upload.</param>
/// <param name="Chunks">How many chunks an upload is stored in.</param>
public sealed record ApiFile(
    string Id,
    string Tenant,
    string Filename,
    string Purpose,
    long Bytes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    string? Batch = null,
    bool Errors = false,
    int Chunks = 0);
