using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using OrleansLlm.Options;

namespace OrleansLlm.Queue;

/// <summary>Reads the queue's overall figures, its batches and its dead letters from Redis; stateless, so every silo may run one.</summary>
[StatelessWorker]
public sealed class QueueGrain(ShardedQueueItems queue, IOptions<PromptOptions> prompt) : Grain, IQueueGrain
{
    private const int MaxDeadLetterPage = 1000;
    private const int MaxBatchPage = 1000;

    public async Task<QueueOverview> GetOverviewAsync(CancellationToken cancellationToken)
    {
        var c = await queue.GetCountsAsync(recentBatches: 10, cancellationToken);
        return new QueueOverview(c.QueueName, c.Ready, c.InFlight, c.DeadLettered, c.RecentBatches);
    }

    public async Task<DeadLetterPage> GetDeadLettersAsync(string? batchId, string? cursor, int pageSize, CancellationToken cancellationToken)
    {
        var page = await queue.GetDeadLettersAsync(batchId, cursor, Math.Clamp(pageSize, 1, MaxDeadLetterPage), cancellationToken);
        var deadLetters = page.Entries
            .Select(DeadLetterEntry.Parse)
            // A retried entry is back in the queue: it is no longer dead, though it keeps its place in the list.
            .Where(d => d.RetriedAt is null)
            .ToArray();
        return new DeadLetterPage(deadLetters, page.Next);
    }

    public Task<BatchListPage> GetBatchesAsync(string? cursor, int pageSize, CancellationToken cancellationToken) =>
        queue.GetBatchesAsync(cursor, Math.Clamp(pageSize, 1, MaxBatchPage), cancellationToken);

    public Task<BatchSpec> GetDefaultSpecAsync(CancellationToken cancellationToken) => Task.FromResult(new BatchSpec(prompt.Value.Template, prompt.Value.AnswerField));
}
