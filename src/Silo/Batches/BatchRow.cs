namespace OrleansLlm.Silo.Batches;

/// <summary>One batch as the batches page shows it: a row of <c>/batches/table</c>, from the batch grain's figures.</summary>
/// <remarks>
/// A column the page gains is a property here and an entry in the <c>columns</c> of <c>batches.js</c>.
/// </remarks>
/// <param name="Created">When the batch was created, by Redis' clock.</param>
/// <param name="Total">Distinct items submitted so far.</param>
/// <param name="Removed">Queued items a cancel or the deadline removed: in the total, never run.</param>
/// <param name="WaitingForModel">The model its queued items wait for because no silo serves it; else null.</param>
/// <param name="Tenant">The API tenant whose batch it is; null for a batch the CLI submitted.</param>
public sealed record BatchRow(
    string Id,
    DateTimeOffset Created,
    string Status,
    string Priority,
    long Total,
    long Done,
    long DeadLettered,
    long InFlight,
    long Queued,
    long Removed,
    long PromptTokens,
    long CompletionTokens,
    string? WaitingForModel,
    string? Tenant);
