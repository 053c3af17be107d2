using System.Text.Json;
using OrleansLlm.Queue;
using OrleansLlm.Worker;

namespace OrleansLlm.Batches;

/// <summary>
/// A batch submitted by a client: it enqueues the items chunk by chunk and reports progress from Redis.
/// Holds no state of its own, so any silo can host it and a restart loses nothing.
/// </summary>
public sealed class BatchGrain(RedisWorkQueue queue) : Grain, IBatchGrain
{
    private const int MaxChunk = 10_000;

    private string BatchId => this.GetPrimaryKeyString();

    public async Task CreateAsync(BatchSpec spec)
    {
        if (BatchId == BatchIds.Default || !BatchIds.IsValid(BatchId))
        {
            throw new ArgumentException($"'{BatchId}' can't be a batch id: use letters, digits, '.', '_' or '-' (at most 64), and not '{BatchIds.Default}'.");
        }

        if (spec.PromptTemplate is { } template && PromptTemplate.TryParse(template, out _) is { } error)
        {
            throw new ArgumentException($"The prompt template {error}");
        }

        if (spec.AnswerField is { } field && !PromptTemplate.IsValidFieldName(field))
        {
            throw new ArgumentException($"'{field}' can't be an answer field: use letters, digits and '_'.");
        }

        var existing = await queue.CreateBatchAsync(BatchId, spec, CancellationToken.None);
        if (existing is not null && existing != spec)
        {
            throw new InvalidOperationException($"Batch {BatchId} already exists with another prompt or answer field.");
        }
    }

    public async Task<int> AddItemsAsync(IReadOnlyList<BatchItem> items)
    {
        if (items.Count > MaxChunk)
        {
            throw new ArgumentException($"Send at most {MaxChunk} items per call, not {items.Count}.");
        }

        if (await queue.GetBatchSpecAsync(BatchId, CancellationToken.None) is null)
        {
            throw new InvalidOperationException($"Batch {BatchId} does not exist; create it first.");
        }

        foreach (var item in items)
        {
            if (string.IsNullOrEmpty(item.Id) || !IsJsonObject(item.Json))
            {
                throw new ArgumentException($"Item '{item.Id}' must have an id and be a JSON object.");
            }
        }

        return await queue.EnqueueAsync(BatchId, items, CancellationToken.None);
    }

    public Task SealAsync() => queue.SealBatchAsync(BatchId, CancellationToken.None);

    public Task<BatchProgress> GetProgressAsync() => queue.GetProgressAsync(BatchId, CancellationToken.None);

    public Task<ResultPage> GetResultsAsync(string? cursor, int pageSize) =>
        queue.GetResultsAsync(BatchId, cursor, pageSize, CancellationToken.None);

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
