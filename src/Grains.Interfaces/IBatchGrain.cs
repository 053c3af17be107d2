namespace OrleansLlm;

/// <summary>
/// One batch of items submitted by a client. Keyed by batch id; raw items pushed straight into Redis
/// belong to the batch <see cref="BatchIds.Default"/>.
/// </summary>
/// <remarks>Every figure it reports is read from Redis, so it survives silo restarts.</remarks>
[Alias("OrleansLlm.IBatchGrain")]
public interface IBatchGrain : IGrainWithStringKey
{
    /// <summary>Creates the batch, or checks that an existing one has the same spec.</summary>
    [Alias("Create")]
    Task CreateAsync(BatchSpec spec, CancellationToken cancellationToken = default);

    /// <summary>Enqueues a chunk of items. Items whose id is already in the batch are skipped.</summary>
    /// <returns>How many items were new.</returns>
    [Alias("AddItems")]
    Task<int> AddItemsAsync(IReadOnlyList<BatchItem> items, CancellationToken cancellationToken = default);

    /// <summary>Marks the submission complete, so the batch can finish once its items are done.</summary>
    [Alias("Seal")]
    Task SealAsync(CancellationToken cancellationToken = default);

    [Alias("GetProgress")]
    Task<BatchProgress> GetProgressAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels the batch: its queued items are removed at once and it takes no more; items in flight finish and keep
    /// their results. The status is <see cref="BatchStates.Cancelling"/> until they have, then <see cref="BatchStates.Cancelled"/>.
    /// </summary>
    /// <returns>The batch's progress right after the queued items were removed.</returns>
    [Alias("Cancel")]
    Task<BatchProgress> CancelAsync(CancellationToken cancellationToken = default);

    /// <summary>Puts the batch's dead-lettered items back in the queue with fresh attempts.</summary>
    [Alias("Retry")]
    Task<BatchRetry> RetryAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the batch and everything it holds: spec, items, results, dead letters. A batch still running is
    /// cancelled first; it goes when its last item in flight ends.
    /// </summary>
    /// <returns>True when it is gone; false while its items in flight finish.</returns>
    [Alias("Delete")]
    Task<bool> DeleteAsync(CancellationToken cancellationToken = default);

    /// <summary>What Ollama did for the batch so far: tokens and time of every answer, dead-lettered ones included.</summary>
    [Alias("GetUsage")]
    Task<TokenUsage> GetUsageAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Pages through the results, each exactly once, in submission order (completion order for raw items). Start with
    /// a null cursor and pass back each page's cursor; a page without results (and a null cursor) ends the listing.
    /// </summary>
    [Alias("GetResults")]
    Task<ResultPage> GetResultsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default);
}
