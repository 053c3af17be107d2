namespace OrleansLlm;

/// <summary>What <c>POST /v1/batches</c> asked for, checked.</summary>
/// <param name="Tenant">The tenant of the key that asked.</param>
/// <param name="KeyId">The key's id (never the key), whose batches in progress are counted.</param>
/// <param name="Endpoint"><c>/v1/chat/completions</c> or <c>/v1/completions</c>.</param>
/// <param name="CompletionWindow">As asked, e.g. <c>24h</c>.</param>
/// <param name="Window">The same as a duration: the batch's deadline from its creation.</param>
/// <param name="Metadata">The batch's metadata, the <c>orleansllm_</c> keys included.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.OpenAiBatchRequest")]
public sealed record OpenAiBatchRequest(
    [property: Id(0)] string Tenant,
    [property: Id(1)] string KeyId,
    [property: Id(2)] string InputFileId,
    [property: Id(3)] string Endpoint,
    [property: Id(4)] string CompletionWindow,
    [property: Id(5)] TimeSpan Window,
    [property: Id(6)] IReadOnlyDictionary<string, string> Metadata);
