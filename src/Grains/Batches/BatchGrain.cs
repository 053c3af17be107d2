using System.Diagnostics;
using System.Text.Json;
using OrleansLlm.Queue;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Batches;

/// <summary>
/// A batch submitted by a client: it checks the batch's spec, enqueues the items chunk by chunk, and reports
/// progress and results from Redis. Holds no state of its own, so any silo can host it and a restart loses nothing.
/// </summary>
public sealed class BatchGrain(ShardedBatchStore store, ShardedQueueItems queue, RedisMemory memory) : Grain, IBatchGrain
{
    private const int MaxChunk = 10_000;

    private string BatchId => this.GetPrimaryKeyString();

    public async Task CreateAsync(BatchSpec spec, CancellationToken cancellationToken)
    {
        if (BatchId == BatchIds.Default || !BatchIds.IsValid(BatchId))
        {
            throw new ArgumentException($"'{BatchId}' can't be a batch id: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit), and not '{BatchIds.Default}'.");
        }

        if (spec.Check() is { } error)
        {
            throw new ArgumentException(error);
        }

        var normalised = spec.Normalised();

        await RefuseWhenFullAsync(cancellationToken);

        var existing = await store.CreateAsync(BatchId, normalised, cancellationToken);
        // The tenant is left out: a validation that a silo lost across an upgrade is resumed with a tenant the spec
        // stored before it did not have.
        if (existing is not null && existing != normalised with { Tenant = existing.Tenant })
        {
            throw new InvalidOperationException($"Batch {BatchId} already exists with another prompt, answer field, model, options, format, priority or deadline.");
        }
    }

    public async Task<int> AddItemsAsync(IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        if (items.Count > MaxChunk)
        {
            throw new ArgumentException($"Send at most {MaxChunk} items per call, not {items.Count}.");
        }

        if (await store.GetAsync(BatchId, cancellationToken) is null)
        {
            throw new InvalidOperationException($"Batch {BatchId} does not exist; create it first.");
        }

        if ((await store.GetCountsAsync(BatchId, cancellationToken)).Stopped is { } stopped)
        {
            throw new InvalidOperationException($"Batch {BatchId} is {stopped}; it takes no more items.");
        }

        await RefuseWhenFullAsync(cancellationToken);

        foreach (var item in items)
        {
            if (string.IsNullOrEmpty(item.Id) || !IsJsonObject(item.Json))
            {
                throw new ArgumentException($"Item '{item.Id}' must have an id and be a JSON object.");
            }
        }

        var added = await EnqueueTracedAsync(items, cancellationToken);
        if (added > 0)
        {
            // Idle workers would find the items when their poll back-off ends, up to Worker:PollMaxDelay from now.
            await GrainFactory.GetCoordinator().WorkFoundAsync(ICoordinatorGrain.Submitted);
        }

        return added;
    }

    /// <summary>Enqueues the items, each in an enqueue span of its own; returns how many were new to the batch.</summary>
    private async Task<int> EnqueueTracedAsync(IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        // Each item's trace goes on from the client's submit span to its enqueue span, whose context the envelope carries.
        var spans = items.Select(item => OrleansLlmActivities.StartEnqueue(BatchId, item.Id, item.TraceParent)).ToArray();
        var traced = spans.All(span => span is null) ? items : items.Select((item, i) => spans[i] is { } span ? item with { TraceParent = span.Id } : item).ToArray();
        try
        {
            return await queue.EnqueueAsync(BatchId, traced, cancellationToken);
        }
        catch (Exception ex)
        {
            foreach (var span in spans)
            {
                span.SetFailure(FailureReasons.Error, ex.Message);
            }

            throw;
        }
        finally
        {
            var current = Activity.Current;
            foreach (var span in spans)
            {
                span?.Dispose();
            }

            Activity.Current = current;
        }
    }

    /// <summary>Refuses new items while Redis is above its high-water mark, so the running batches keep room to finish.</summary>
    private async Task RefuseWhenFullAsync(CancellationToken cancellationToken)
    {
        if (await memory.RefusalAsync(cancellationToken) is { } full)
        {
            throw new InvalidOperationException(full);
        }
    }

    public Task SealAsync(CancellationToken cancellationToken) => store.SealAsync(BatchId, cancellationToken);

    public Task<TokenUsage> GetUsageAsync(CancellationToken cancellationToken) => store.GetUsageAsync(BatchId, cancellationToken);

    public async Task<BatchProgress> GetProgressAsync(CancellationToken cancellationToken)
    {
        var c = await store.GetCountsAsync(BatchId, cancellationToken);
        if (BatchId == BatchIds.Default)
        {
            // Raw items come from producers outside the cluster, so there is no known total.
            return new BatchProgress(BatchId, Exists: true, Total: null, Queued: null, c.InFlight, c.Done, c.DeadLettered, Sealed: false);
        }

        var queued = Math.Max(0, c.Total - c.Done - c.DeadLettered - c.InFlight - c.Removed);
        return new BatchProgress(
            BatchId, c.Exists, c.Total, queued, c.InFlight, c.Done, c.DeadLettered, c.Sealed, c.Priority, c.Removed, c.Status, c.Deadline,
            queued > 0 ? c.WaitingForModel : null, c.Tenant);
    }

    public async Task<BatchProgress> CancelAsync(CancellationToken cancellationToken)
    {
        await RequireAsync(cancellationToken);
        var progress = await GetProgressAsync(cancellationToken);
        if (progress.Status is BatchStates.Completed or BatchStates.Expired)
        {
            throw new InvalidOperationException($"Batch {BatchId} is {progress.Status}; there is nothing left to cancel.");
        }

        await store.StopAsync(BatchId, BatchStates.Cancelled, cancellationToken);
        return await GetProgressAsync(cancellationToken);
    }

    public async Task<BatchRetry> RetryAsync(CancellationToken cancellationToken)
    {
        await RequireAsync(cancellationToken);
        var progress = await GetProgressAsync(cancellationToken);
        if (progress.Status is BatchStates.Cancelling or BatchStates.Cancelled or BatchStates.Expired)
        {
            throw new InvalidOperationException($"Batch {BatchId} is {progress.Status}; its dead letters can't go back to the queue.");
        }

        var (retried, tooLarge) = await queue.RetryDeadAsync(BatchId, cancellationToken);
        return new BatchRetry(retried, tooLarge);
    }

    public async Task<bool> DeleteAsync(CancellationToken cancellationToken)
    {
        await RequireAsync(cancellationToken);
        return await store.DeleteAsync(BatchId, cancellationToken) == "deleted";
    }

    private async Task RequireAsync(CancellationToken cancellationToken)
    {
        if (BatchId == BatchIds.Default || await store.GetAsync(BatchId, cancellationToken) is null)
        {
            throw new InvalidOperationException(BatchId == BatchIds.Default
                ? $"The raw items' batch {BatchIds.Default} has no known items to cancel, retry or delete."
                : $"Batch {BatchId} does not exist.");
        }
    }

    public async Task<ResultPage> GetResultsAsync(string? cursor, int pageSize, CancellationToken cancellationToken)
    {
        var page = await store.GetResultsAsync(BatchId, cursor, Math.Clamp(pageSize, 1, 10_000), cancellationToken);
        // An empty page ends the listing; results completed later come after the last cursor, so a live batch can be followed.
        return new ResultPage(page.Documents, page.Documents.Count == 0 ? null : page.Next);
    }

    private static bool IsJsonObject(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
