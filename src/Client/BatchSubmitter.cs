namespace OrleansLlm.Client;

/// <param name="Submitted">Items sent.</param>
/// <param name="Enqueued">Items that were new to the batch (duplicate ids are skipped).</param>
public sealed record SubmitSummary(string BatchId, int Submitted, int Enqueued);

/// <summary>
/// Creates a batch and streams its items to the batch grain in chunks as they are read, never the whole file in one
/// message or in memory. Each item starts its own trace (<see cref="ClientActivities"/>) when someone listens.
/// </summary>
public sealed class BatchSubmitter(IClusterClient client)
{
    public const int DefaultChunkSize = 1000;

    /// <summary>Submits items as they are read: only one chunk of them is held at a time, so a file of any size can be sent.</summary>
    /// <param name="onChunk">Called after each chunk with the items sent so far, e.g. to say how far a cancelled submission got.</param>
    public async Task<SubmitSummary> SubmitAsync(
        string batchId, BatchSpec spec, IAsyncEnumerable<BatchItem> items, CancellationToken cancellationToken,
        int chunkSize = DefaultChunkSize, Action<int>? onChunk = null)
    {
        var batch = client.GetGrain<IBatchGrain>(batchId);
        await batch.CreateAsync(spec, cancellationToken);
        var sent = 0;
        var enqueued = 0;
        await foreach (var chunk in items.Chunk(chunkSize).WithCancellation(cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Each item carries its submit span's context, so its path through the cluster is one trace.
            var spans = ClientActivities.StartSubmits(batchId, chunk);
            var traced = spans is null ? chunk : chunk.Select((item, i) => spans[i] is { } span ? item with { TraceParent = span.Id } : item).ToArray();
            try
            {
                enqueued += await batch.AddItemsAsync(traced, cancellationToken);
            }
            catch (Exception ex)
            {
                ClientActivities.StopSubmits(spans, ex);
                throw;
            }

            ClientActivities.StopSubmits(spans, error: null);
            sent += chunk.Length;
            onChunk?.Invoke(sent);
        }

        await batch.SealAsync(cancellationToken);
        return new SubmitSummary(batchId, sent, enqueued);
    }

    /// <summary>Polls the batch until every item has a result or a dead letter.</summary>
    public async Task<BatchProgress> WaitAsync(string batchId, TimeSpan pollInterval, Action<BatchProgress> onProgress, CancellationToken cancellationToken)
    {
        var batch = client.GetGrain<IBatchGrain>(batchId);
        while (true)
        {
            var progress = await batch.GetProgressAsync(cancellationToken);
            onProgress(progress);
            if (progress.IsComplete)
            {
                return progress;
            }

            await Task.Delay(pollInterval, cancellationToken);
        }
    }
}
