using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Options;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Queue;

/// <summary>The list of batches, newest first, a page at a time, against a real Redis; creation times from a fake clock.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class BatchListTests(RedisServer redis) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = FakeClock.Now();
    private QueueHandle _handle = null!;

    public async Task InitializeAsync() =>
        _handle = await QueueHandle.ConnectAsync(redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName() }, _time);

    public async Task DisposeAsync() => await _handle.DisposeAsync();

    [Fact]
    public async Task Pages_ListEveryBatchOnceNewestFirst_ABatchCreatedMeanwhileOnlyOnTheFirstPage()
    {
        var created = new Dictionary<string, DateTimeOffset>();
        foreach (var id in (string[])["a", "b", "c", "d", "e"])
        {
            created[id] = await CreateAsync(id);
        }

        var first = await _handle.Items.GetBatchesAsync(null, 2, CancellationToken.None);
        await CreateAsync("f");
        var second = await _handle.Items.GetBatchesAsync(first.NextCursor, 2, CancellationToken.None);
        var last = await _handle.Items.GetBatchesAsync(second.NextCursor, 2, CancellationToken.None);

        Assert.Equal(["e", "d"], first.Batches.Select(b => b.BatchId));
        Assert.Equal(["c", "b"], second.Batches.Select(b => b.BatchId));
        Assert.Equal(["a"], last.Batches.Select(b => b.BatchId));
        Assert.Equal((5L, 6L, 6L), (first.Total, second.Total, last.Total));
        Assert.Null(last.NextCursor);
        Assert.All(first.Batches.Concat(second.Batches).Concat(last.Batches), b => Assert.Equal(created[b.BatchId], b.Created));
        Assert.Equal(["f", "e"], (await _handle.Items.GetBatchesAsync(null, 2, CancellationToken.None)).Batches.Select(b => b.BatchId));
    }

    [Fact]
    public async Task ExactlyOnePage_HasNoNextCursor_ACursorWhoseBatchWasDeleted_IsRefused()
    {
        await CreateAsync("a");
        await CreateAsync("b");

        var all = await _handle.Items.GetBatchesAsync(null, 2, CancellationToken.None);
        var one = await _handle.Items.GetBatchesAsync(null, 1, CancellationToken.None);
        Assert.Equal("deleted", await _handle.Batches.DeleteAsync("b", CancellationToken.None));

        Assert.Equal((2, (string?)null), (all.Batches.Count, all.NextCursor));
        Assert.Equal("b", one.NextCursor);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _handle.Items.GetBatchesAsync(one.NextCursor, 1, CancellationToken.None));
        Assert.Contains("'b' is not a listed batch", error.Message);
    }

    private async Task<DateTimeOffset> CreateAsync(string id)
    {
        _time.Advance(TimeSpan.FromMilliseconds(10));
        await _handle.Batches.CreateAsync(id, new BatchSpec(null, null), CancellationToken.None);
        return DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds());
    }
}
