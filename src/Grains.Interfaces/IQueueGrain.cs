namespace OrleansLlm;

/// <summary>
/// Read-only view of the whole queue: what is waiting, in flight and dead-lettered, the batches, and the prompt a
/// batch gets when it brings none.
/// </summary>
[Alias("OrleansLlm.IQueueGrain")]
public interface IQueueGrain : IGrainWithIntegerKey
{
    [Alias("GetOverview")]
    Task<QueueOverview> GetOverviewAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Pages through the dead-letter list, oldest first: start with a null cursor and pass back each page's cursor
    /// until it is null. With <paramref name="batchId"/>, only that batch's dead letters (a page may then be empty).
    /// </summary>
    [Alias("GetDeadLetters")]
    Task<DeadLetterPage> GetDeadLettersAsync(string? batchId, string? cursor, int pageSize, CancellationToken cancellationToken = default);

    /// <summary>
    /// Pages through every batch, newest first (by creation): start with a null cursor and pass back each page's cursor
    /// until it is null. Raw items' batch <see cref="BatchIds.Default"/> is not listed. A page is read in one step, so
    /// batches created meanwhile only ever appear on the first page.
    /// </summary>
    /// <exception cref="ArgumentException">The cursor's batch was deleted or forgotten since its page was read.</exception>
    [Alias("GetBatches")]
    Task<BatchListPage> GetBatchesAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default);

    /// <summary>
    /// The silo's <c>Prompt:Template</c> and <c>Prompt:AnswerField</c>: what a batch created without them uses, so a
    /// client can check its file against the prompt before it submits anything.
    /// </summary>
    [Alias("GetDefaultSpec")]
    Task<BatchSpec> GetDefaultSpecAsync(CancellationToken cancellationToken = default);
}
