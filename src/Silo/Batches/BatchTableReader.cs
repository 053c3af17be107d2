namespace OrleansLlm.Silo.Batches;

/// <summary>
/// Reads a page of the batches page's table through the grains, as every other reader of batches does: the ids from
/// the queue grain, newest first, then each batch's figures and tokens from its batch grain, all batches at once.
/// </summary>
public sealed class BatchTableReader(IGrainFactory grains)
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 200;

    /// <param name="after">The batch the page starts after (a page's <see cref="BatchTable.NextCursor"/>); null for the newest.</param>
    /// <exception cref="ArgumentException"><paramref name="after"/> is no longer a batch.</exception>
    public async Task<BatchTable> ReadAsync(string? after, int pageSize, CancellationToken cancellationToken)
    {
        var page = await grains.GetGrain<IQueueGrain>(0).GetBatchesAsync(after, pageSize, cancellationToken);
        var rows = await Task.WhenAll(page.Batches.Select(b => RowAsync(b, cancellationToken)));
        return new BatchTable(rows.OfType<BatchRow>().ToArray(), page.Total, after, page.NextCursor);
    }

    /// <returns>Null for a batch deleted since it was listed.</returns>
    private async Task<BatchRow?> RowAsync(BatchListing listing, CancellationToken cancellationToken)
    {
        var batch = grains.GetGrain<IBatchGrain>(listing.BatchId);
        var progressCall = batch.GetProgressAsync(cancellationToken);
        var usageCall = batch.GetUsageAsync(cancellationToken);
        var (p, usage) = (await progressCall, await usageCall);
        return p.Exists
            ? new BatchRow(
                p.BatchId, listing.Created, p.Status, BatchPriorities.Name(p.Priority), p.Total ?? 0, p.Done, p.DeadLettered, p.InFlight,
                p.Queued ?? 0, p.Removed, usage.PromptTokens, usage.CompletionTokens, p.WaitingForModel, p.Tenant)
            : null;
    }
}
