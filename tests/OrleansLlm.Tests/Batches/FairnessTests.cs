using System.Globalization;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Batches;

/// <summary>
/// A small batch submitted right behind a large one: at a higher priority it goes first, at the same priority it
/// takes turns with the large one. One silo with two slots on a fast simulator; the figures go to the test output
/// (and docs/benchmarks.md, "Fairness").
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class FairnessTests(RedisServer redis, ITestOutputHelper output)
{
    private const int Large = 2000;
    private const int Small = 20;
    private const int Slots = 2;

    [Fact]
    public async Task HighPriorityBatch_BehindALargeNormalOne_CompletesWithinAFewServiceTimes()
    {
        var run = await RunAsync(BatchPriority.High);

        // Two slots serve 20 items in 10 service times at best; a high batch waits only for the items in flight.
        Assert.True(run.SmallServiceTimes < 25, $"the high batch took {run.SmallServiceTimes:F1} service times");
        Assert.True(run.LargeDoneWhenSmallDone < Large / 4, $"{run.LargeDoneWhenSmallDone} of the large batch were done first");
    }

    [Fact]
    public async Task SmallBatch_BehindALargeOneOfTheSamePriority_TakesTurnsAndCompletesLongBefore()
    {
        var run = await RunAsync(BatchPriority.Normal);

        // Taking turns, 20 items need about 40 leases: 20 service times on two slots, not the 1,000 of waiting.
        Assert.True(run.LargeDoneWhenSmallDone < Large / 4, $"{run.LargeDoneWhenSmallDone} of the large batch were done first");
        Assert.True(run.Small < run.LargeMakespan / 4, $"the small batch took {run.Small}, the large one {run.LargeMakespan}");
    }

    private async Task<FairnessRun> RunAsync(BatchPriority smallPriority)
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 1;
            o.Simulator = _ => new OllamaSim.SimulatorOptions { Parallel = Slots, TimeScale = 0.0001 };
            o.Settings["Worker:MaxConcurrency"] = Slots.ToString(CultureInfo.InvariantCulture);
        });
        var items = await Cities.LoadAsync(Large + Small);
        var submitter = new BatchSubmitter(cluster.Client);
        var large = cluster.Client.GetGrain<IBatchGrain>("large");
        var small = cluster.Client.GetGrain<IBatchGrain>("small");

        var start = DateTimeOffset.UtcNow;
        await submitter.SubmitAsync("large", new BatchSpec(null, null), items.Take(Large).ToAsyncEnumerable(), CancellationToken.None);
        // The small batch comes in behind the large one once that is under way, the worker busy.
        await Eventually.TrueAsync(async () => (await large.GetProgressAsync()).Done >= 10, "the large batch to be under way");
        var smallSubmitted = DateTimeOffset.UtcNow;
        await submitter.SubmitAsync("small", new BatchSpec(null, null, Priority: smallPriority), items.Skip(Large).ToAsyncEnumerable(), CancellationToken.None);
        await Eventually.TrueAsync(async () => (await small.GetProgressAsync()).IsComplete, "the small batch to complete", TimeSpan.FromMinutes(1));
        await Eventually.TrueAsync(async () => (await large.GetProgressAsync()).IsComplete, "the large batch to complete", TimeSpan.FromMinutes(1));
        var final = await large.GetProgressAsync();
        Assert.Equal((Large, 0L), (final.Done, final.DeadLettered));

        // Times from the results themselves (completed_at), not from when the test happened to look.
        var smallDone = (await CompletedAsync(cluster, "small")).Max();
        var largeCompleted = await CompletedAsync(cluster, "large");
        var smallTime = smallDone - smallSubmitted;
        var makespan = largeCompleted.Max() - start;
        // The service time of one item on one slot, as the run itself measured it from its first result to its last
        // (so not counting the idle worker's first poll): slots × time ÷ items.
        var all = largeCompleted.Concat(await CompletedAsync(cluster, "small")).ToArray();
        var serviceTime = (all.Max() - all.Min()) * Slots / (all.Length - 1);
        var run = new FairnessRun(smallTime, largeCompleted.Count(t => t <= smallDone), makespan, smallTime / serviceTime);
        output.WriteLine(
            $"small batch ({Small} items, {BatchPriorities.Name(smallPriority)}) behind a large one ({Large}, normal), {Slots} slots: " +
            $"small done in {smallTime.TotalMilliseconds:F0} ms = {run.SmallServiceTimes:F1} service times of {serviceTime.TotalMilliseconds:F1} ms " +
            $"(the run's average; {Small} items alone on {Slots} slots: {Small / Slots}); meanwhile {largeCompleted.Count(t => t > smallSubmitted && t <= smallDone)} " +
            $"large items were done, {run.LargeDoneWhenSmallDone} in all; large batch makespan {makespan.TotalSeconds:F2} s");
        return run;
    }

    private static async Task<DateTimeOffset[]> CompletedAsync(LlmCluster cluster, string batchId) =>
        (await cluster.ResultsAsync(batchId)).Values.Select(r => r.GetProperty("meta").GetProperty("completed_at").GetDateTimeOffset()).ToArray();

    private sealed record FairnessRun(TimeSpan Small, long LargeDoneWhenSmallDone, TimeSpan LargeMakespan, double SmallServiceTimes);
}
