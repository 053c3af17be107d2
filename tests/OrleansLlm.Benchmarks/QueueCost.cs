using System.Diagnostics;
using System.Globalization;
using OrleansLlm.Benchmarks.Infrastructure;
using OrleansLlm.Queue;
using StackExchange.Redis;

namespace OrleansLlm.Benchmarks;

/// <summary>
/// The queue's scripts alone: one batch of N cities enqueued, leased and completed through the queue's own C# types
/// (<see cref="RedisQueueItems"/>, <see cref="RedisLeaseQueue"/>) by this process, one call at a time, for a few
/// sizes of lease call and complete group. No silo, simulator or CLI runs meanwhile, so Redis has a core to itself
/// and its CPU per item is the scripts' own: what a Redis on a core of its own spends, and a figure that moves only
/// when the scripts do. The overhead scenario's figure is the same work on a machine whose two cores the silos share.
/// </summary>
public sealed class QueueCost(RedisProcess redis, Workload workload, TextWriter log)
{
    /// <summary>Items per lease call and answers per complete call: one at a time, the overhead scenario's usual groups, and larger ones.</summary>
    public static readonly IReadOnlyList<(int Lease, int Group)> Shapes = [(1, 1), (5, 12), (16, 16), (64, 64)];

    private const string Owner = "queue-cost";

    public async Task<IReadOnlyList<QueueCostResult>> RunAsync(CancellationToken cancellationToken)
    {
        var results = new List<QueueCostResult>();
        foreach (var (lease, group) in Shapes)
        {
            var result = await MeasureAsync(lease, group, cancellationToken);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[queue] lease {lease}, group {group}: Redis CPU per item {result.Enqueue.MicrosecondsPerItem:0.0} enqueue + {result.Lease.MicrosecondsPerItem:0.0} lease + {result.Complete.MicrosecondsPerItem:0.0} complete = {result.MicrosecondsPerItem:0.0} µs"));
            results.Add(result);
            await redis.FlushAsync();
        }

        return results;
    }

    private async Task<QueueCostResult> MeasureAsync(int leaseSize, int groupSize, CancellationToken cancellationToken)
    {
        await using var direct = await DirectQueue.ConnectAsync(redis, "queue-cost");
        var (items, store, queue) = (direct.Items, direct.Store, direct.Leases);
        var server = redis.Server;
        const string batch = "cities";
        await store.CreateAsync(batch, new BatchSpec(null, null), cancellationToken);

        var enqueue = await PhaseAsync(server, workload.Count, () =>
            items.EnqueueAsync(batch, workload.Items.Select(i => new BatchItem(i.Id, i.Json)).ToArray(), cancellationToken));
        var leases = new List<Lease>(workload.Count);
        var lease = await PhaseAsync(server, workload.DistinctIds, async () =>
        {
            while (leases.Count < workload.DistinctIds)
            {
                var leased = await queue.LeaseAsync(Owner, leaseSize, null, cancellationToken);
                leases.AddRange(leased.Leases);
                if (leased.Leases.Count == 0 && !leased.More)
                {
                    throw new InvalidOperationException($"the queue ran dry after {leases.Count:N0} of {workload.DistinctIds:N0} leases");
                }
            }
        });
        var answers = leases.Select(Answer).ToArray();
        var complete = await PhaseAsync(server, answers.Length, async () =>
        {
            foreach (var answered in answers.Chunk(groupSize))
            {
                var outcomes = await queue.CompleteManyAsync(answered, cancellationToken);
                if (outcomes.Any(o => o != CompleteOutcome.Stored))
                {
                    throw new InvalidOperationException($"an answer was not stored: {string.Join(", ", outcomes)}");
                }
            }
        });
        var counts = await store.GetCountsAsync(batch, cancellationToken);
        if (counts.Done != workload.DistinctIds)
        {
            throw new InvalidOperationException($"{counts.Done:N0} of {workload.DistinctIds:N0} items done");
        }

        return new QueueCostResult(leaseSize, groupSize, workload.DistinctIds, enqueue, lease, complete);
    }

    /// <summary>An answer as a worker sends it: the item's result document, built the way the worker builds it.</summary>
    private static CompleteRequest Answer(Lease lease)
    {
        QueueItem.TryParse(lease.Payload, int.MaxValue, out var parsed);
        using var item = parsed ?? throw new InvalidOperationException($"lease {lease.Id} holds no item of a batch");
        var meta = new ResultMeta("mayor", "qwen2:1.5b", 1, Owner, 250_000_000, 60, 24, DateTimeOffset.UtcNow, ResultDocument.GenerateEndpoint, "stop");
        var document = ResultDocument.Build(item.Id, item.BatchId, item.Item, "The mayor of this city is a person whose name the model would give here.", meta);
        return new CompleteRequest(lease, Owner, item.Id, document, new TokenUsage(60, 24, TimeSpan.FromMilliseconds(250)));
    }

    /// <summary>What Redis spent on one phase: its CPU and script calls, read just before and just after.</summary>
    private static async Task<QueueCostPhase> PhaseAsync(IServer server, int items, Func<Task> run)
    {
        var before = await RedisCounters.ReadAsync(server);
        var clock = Stopwatch.StartNew();
        await run();
        var seconds = clock.Elapsed.TotalSeconds;
        var spent = await RedisCounters.ReadAsync(server) - before;
        return new QueueCostPhase(items, spent.CpuSeconds, spent.Scripts, spent.Commands, seconds);
    }
}
