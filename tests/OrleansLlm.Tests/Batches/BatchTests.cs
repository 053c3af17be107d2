using System.Text.Json;
using OrleansLlm.Client;
using OrleansLlm.Client.Input;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Batches;

[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class BatchTests(RedisServer redis)
{
    [Fact]
    public async Task SubmittedBatch_ReportsProgressAndCompletes()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
            o.Simulator = _ => new OllamaSim.SimulatorOptions { Parallel = 1, TimeScale = 0.001 });
        var items = await ItemSource.ReadItemsAsync(Cities.DataFile, new ItemSourceOptions { Filter = new ItemFilter(PopulationFilter.AtLeast(1_000_000)) }, CancellationToken.None).ToListAsync();
        var submitter = new BatchSubmitter(cluster.Client);
        var spec = new BatchSpec("What country is {city} in? Answer with the name only.", "country_answer");

        var summary = await submitter.SubmitAsync("batch-progress", spec, items.ToAsyncEnumerable(), CancellationToken.None, chunkSize: 100);

        Assert.Equal(items.Count, summary.Enqueued);
        var seen = new List<BatchProgress>();
        var final = await submitter.WaitAsync("batch-progress", TimeSpan.FromMilliseconds(100), seen.Add, new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);

        Assert.True(final.IsComplete);
        Assert.Equal(items.Count, final.Total);
        Assert.Equal(items.Count, final.Done);
        Assert.Equal(0, final.Queued);
        Assert.Equal(0, final.InFlight);
        Assert.All(seen, p => Assert.Equal(p.Total, p.Queued + p.InFlight + p.Done + p.DeadLettered));
        Assert.Contains(seen, p => p.Done > 0 && !p.IsComplete);

        var pages = new List<string>();
        string? cursor = null;
        do
        {
            var page = await cluster.Client.GetGrain<IBatchGrain>("batch-progress").GetResultsAsync(cursor, 100);
            pages.AddRange(page.Results);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        var results = pages.Select(r => JsonDocument.Parse(r).RootElement).ToArray();
        Assert.Equal(items.Select(i => i.Id).Order(), results.Select(r => r.GetProperty("id").GetString()).Distinct().Order());
        Assert.All(results, r => Assert.Equal("batch-progress", r.GetProperty("batch").GetString()));
        Assert.All(results, r => Assert.True(r.TryGetProperty("country_answer", out _)));
    }

    [Fact]
    public async Task ResubmittedItems_AreNotEnqueuedTwice()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Silos = 1);
        var items = await Cities.LoadAsync(30);
        var submitter = new BatchSubmitter(cluster.Client);

        var first = await submitter.SubmitAsync("batch-dedupe", new BatchSpec(null, null), items.ToAsyncEnumerable(), CancellationToken.None);
        var second = await submitter.SubmitAsync("batch-dedupe", new BatchSpec(null, null), items.ToAsyncEnumerable(), CancellationToken.None);

        Assert.Equal(30, first.Enqueued);
        Assert.Equal(0, second.Enqueued);
        var final = await submitter.WaitAsync("batch-dedupe", TimeSpan.FromMilliseconds(100), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);
        Assert.Equal(30, final.Total);
        Assert.Equal(30, final.Done);
    }

    [Fact]
    public async Task Batch_WithAnotherSpec_IsRejected()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Silos = 1);
        var batch = cluster.Client.GetGrain<IBatchGrain>("batch-spec");
        await batch.CreateAsync(new BatchSpec("Describe {city}.", "description"));

        await Assert.ThrowsAsync<InvalidOperationException>(() => batch.CreateAsync(new BatchSpec("Name {city}.", "description")));
        await Assert.ThrowsAsync<ArgumentException>(() => cluster.Client.GetGrain<IBatchGrain>("bad id!").CreateAsync(new BatchSpec(null, null)));
        await Assert.ThrowsAsync<ArgumentException>(() => cluster.Client.GetGrain<IBatchGrain>("batch-noplaceholder").CreateAsync(new BatchSpec("No placeholder", null)));
    }
}
