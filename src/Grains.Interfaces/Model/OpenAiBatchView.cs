namespace OrleansLlm;

/// <summary>An OpenAI batch as the API shows it (its batch object), and whose it is.</summary>
/// <param name="Status">validating, failed, in_progress, finalizing, completed, expired, cancelling or cancelled.</param>
/// <param name="Times">Each <c>*_at</c> reached so far, by its name without <c>_at</c> (created, in_progress, expires, completed, ...).</param>
/// <param name="Errors">The lines the input file was refused for; empty unless <paramref name="Status"/> is failed.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.OpenAiBatchView")]
public sealed record OpenAiBatchView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Tenant,
    [property: Id(2)] string Endpoint,
    [property: Id(3)] string InputFileId,
    [property: Id(4)] string CompletionWindow,
    [property: Id(5)] string Status,
    [property: Id(6)] string? OutputFileId,
    [property: Id(7)] string? ErrorFileId,
    [property: Id(8)] IReadOnlyDictionary<string, DateTimeOffset> Times,
    [property: Id(9)] long Total,
    [property: Id(10)] long Completed,
    [property: Id(11)] long Failed,
    [property: Id(12)] TokenUsage Usage,
    [property: Id(13)] IReadOnlyDictionary<string, string> Metadata,
    [property: Id(14)] IReadOnlyList<OpenAiBatchError> Errors)
{
    /// <summary>Nothing more will happen to it (unless retried): completed, failed, expired or cancelled.</summary>
    public bool HasEnded => Status is OpenAiBatchStates.Completed or OpenAiBatchStates.Failed or OpenAiBatchStates.Expired or OpenAiBatchStates.Cancelled;
}
