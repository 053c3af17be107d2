namespace OrleansLlm;

/// <summary>
/// A batch of the OpenAI Batch API (<c>/v1/batches</c>), keyed by its id (<c>batch_</c> and hex), which is also the id
/// of its <see cref="IBatchGrain"/>, so the CLI sees API batches as any other. Its record lives in Redis: any silo
/// answers for any batch, and a restart loses nothing.
/// </summary>
/// <remarks>
/// Each call takes the caller's tenant and answers null for a batch of another tenant as for one that does not exist.
/// A null tenant is the cluster itself (the sweep, operators), which sees every batch.
/// </remarks>
[Alias("OrleansLlm.IOpenAiBatchGrain")]
public interface IOpenAiBatchGrain : IGrainWithStringKey
{
    /// <summary>
    /// Records the batch and answers at once, <c>validating</c>; the input file is then read and checked, and the
    /// batch either fails with the lines it refused or is submitted and goes <c>in_progress</c>. Creating it again
    /// answers the batch as it is.
    /// </summary>
    [Alias("Create")]
    Task<OpenAiBatchView> CreateAsync(OpenAiBatchRequest request, CancellationToken cancellationToken = default);

    /// <summary>The batch as it is now; null when there is none for this tenant.</summary>
    [Alias("Get")]
    Task<OpenAiBatchView?> GetAsync(string? tenant, CancellationToken cancellationToken = default);

    /// <summary>Cancels the batch: queued requests are dropped, those in flight finish and keep their results.</summary>
    /// <exception cref="InvalidOperationException">The batch has ended already (completed, failed, expired or cancelled).</exception>
    [Alias("Cancel")]
    Task<OpenAiBatchView?> CancelAsync(string? tenant, CancellationToken cancellationToken = default);

    /// <summary>Puts the batch's failed requests (its dead letters) back in the queue with fresh attempts.</summary>
    /// <exception cref="InvalidOperationException">The batch was never submitted, or was cancelled or expired.</exception>
    [Alias("Retry")]
    Task<OpenAiBatchView?> RetryAsync(string? tenant, CancellationToken cancellationToken = default);
}
