namespace OrleansLlm.Api;

/// <summary>
/// The API's Redis keys, all under the queue's name (<c>Queue:Name</c>), so on Redis Cluster a name with a hash tag
/// keeps them in the queue's slot, beside the batches they refer to.
/// </summary>
public sealed record ApiRedisKeys(string Name)
{
    /// <summary>Hash of one file's record: tenant, filename, purpose, bytes, chunks, created and expiry times; for an output or error file, its batch.</summary>
    public string File(string fileId) => $"{Name}:api:file:{fileId}";

    /// <summary>Hash chunk number → bytes of an uploaded file.</summary>
    public string FileData(string fileId) => $"{Name}:api:file-data:{fileId}";

    /// <summary>Sorted set file id → created (Unix ms): a tenant's files.</summary>
    public string Files(string tenant) => $"{Name}:api:files:{tenant}";

    /// <summary>Hash of one API batch's record (<see cref="Batches.OpenAiBatchRecord"/>).</summary>
    public string Batch(string batchId) => $"{Name}:api:batch:{batchId}";

    /// <summary>Sorted set batch id → created (Unix ms): a tenant's batches.</summary>
    public string Batches(string tenant) => $"{Name}:api:batches:{tenant}";

    /// <summary>Set of the batches of one key that have not ended: what <see cref="ApiOptions.MaxBatchesInProgressPerKey"/> counts.</summary>
    public string Active(string keyId) => $"{Name}:api:active:{keyId}";

    /// <summary>
    /// Sorted set batch id → when its record expires (Unix ms; +inf until it ends): the API batches whose record says
    /// <paramref name="status"/>, one set per status, which the <c>orleansllm_api_batches</c> gauge counts.
    /// </summary>
    public string Status(string status) => $"{Name}:api:status:{status}";

    /// <summary>Sorted set batch id → created (Unix ms): every API batch whose end is not recorded yet, which the sweep visits.</summary>
    public string Open => $"{Name}:api:open";
}
