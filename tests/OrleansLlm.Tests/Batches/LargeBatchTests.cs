using System.Diagnostics;
using OrleansLlm.Client;
using OrleansLlm.Client.Input;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Batches;

/// <summary>The whole data set as one batch: every city comes back exactly once, in the order it was submitted.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class LargeBatchTests(RedisServer redis, ITestOutputHelper output)
{
    [Fact]
    public async Task WholeDataSet_ResultsStreamEveryItemOnce_InSubmissionOrder()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            // Answers at once: this test is about the bookkeeping of 44,690 items, not about Ollama.
            o.Simulator = _ => new OllamaSim.SimulatorOptions { Parallel = 16, TimeScale = 0 };
            o.Settings["Worker:MaxConcurrency"] = "16";
        });
        var items = await ItemSource.ReadItemsAsync(Cities.DataFile, new ItemSourceOptions(), CancellationToken.None).ToListAsync();
        var submitter = new BatchSubmitter(cluster.Client);
        var clock = Stopwatch.StartNew();

        var summary = await submitter.SubmitAsync("world", new BatchSpec(null, null), items.ToAsyncEnumerable(), CancellationToken.None);
        var final = await submitter.WaitAsync("world", TimeSpan.FromMilliseconds(500), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(5)).Token);
        var enriched = clock.Elapsed;

        // The data set has one id twice (Uman and Umán, 1484009408): the batch keeps the first.
        var expected = items.Select(i => i.Id).Distinct().ToArray();
        Assert.Equal(expected.Length, summary.Enqueued);
        Assert.Equal((expected.Length, 0L), (final.Done, final.DeadLettered));

        clock.Restart();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var peakHeap = heapBefore;
        var read = new List<string>(expected.Length);
        await foreach (var document in BatchResults.ReadAsync(cluster.Client.GetGrain<IBatchGrain>("world"), CancellationToken.None))
        {
            read.Add(ResultDocument.Read(document).Id);
            if (read.Count % 5000 == 0)
            {
                peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(forceFullCollection: false));
            }
        }

        output.WriteLine($"{expected.Length} items enriched in {enriched.TotalSeconds:F1} s ({expected.Length / enriched.TotalSeconds:F0}/s); " +
                         $"results read in {clock.Elapsed.TotalSeconds:F1} s; managed heap {heapBefore / 1e6:F0} MB before, at most {peakHeap / 1e6:F0} MB while reading");
        Assert.Equal(expected, read);
    }
}
