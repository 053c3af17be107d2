using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Queue;

/// <summary>The batch store's scripts against a real Redis.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisBatchStoreTests(RedisServer redis) : IAsyncLifetime
{
    private QueueHandle _handle = null!;

    public async Task InitializeAsync() =>
        _handle = await QueueHandle.ConnectAsync(redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName() });

    public async Task DisposeAsync() => await _handle.DisposeAsync();

    [Fact]
    public async Task Create_KeepsTheFirstDefinition()
    {
        var first = new BatchDefinition("Describe {city}.", "description");

        Assert.Null(await _handle.Batches.CreateAsync("b1", first, CancellationToken.None));
        Assert.Equal(first, await _handle.Batches.CreateAsync("b1", new BatchDefinition("Name {city}.", null), CancellationToken.None));
        Assert.Equal(first, await _handle.Batches.GetAsync("b1", CancellationToken.None));
        Assert.Null(await _handle.Batches.GetAsync("b2", CancellationToken.None));
    }

    [Fact]
    public async Task AddItems_WrapsThemInEnvelopes_SkipsKnownIds_AndCounts()
    {
        await _handle.Batches.CreateAsync("b1", new BatchDefinition(null, null), CancellationToken.None);
        var added = await _handle.Batches.AddItemsAsync("b1", [new BatchItem("1", "{\"city\":\"Oslo\"}"), new BatchItem("1", "{\"city\":\"Oslo\"}")], CancellationToken.None);
        Assert.Equal(1, added);

        var lease = (await _handle.Queue.LeaseAsync("silo-1", 1, CancellationToken.None)).Single();
        Assert.Equal("b1", Envelope.BatchOf(lease.Payload));
        Assert.Null(QueueItem.TryParse(lease.Payload, 1024, out var item));
        using (item)
        {
            Assert.Equal(("b1", "1"), (item!.BatchId, item.Id));
            Assert.Equal("Oslo", item.Item.GetProperty("city").GetString());
        }

        var counts = await _handle.Batches.GetCountsAsync("b1", CancellationToken.None);
        Assert.Equal(new BatchCounts(Exists: true, Sealed: false, Total: 1, InFlight: 1, Done: 0, DeadLettered: 0), counts);
    }

    [Fact]
    public async Task Results_ComeInSubmissionOrder_EachExactlyOnce_AcrossPages()
    {
        await _handle.Batches.CreateAsync("b1", new BatchDefinition(null, null), CancellationToken.None);
        var ids = Enumerable.Range(0, 25).Select(i => $"item-{i}").ToArray();
        await _handle.Batches.AddItemsAsync("b1", ids.Select(id => new BatchItem(id, "{}")).ToArray(), CancellationToken.None);
        var leases = await _handle.Queue.LeaseAsync("silo-1", 25, CancellationToken.None);

        // Complete them in reverse: the results still come back in submission order.
        foreach (var lease in leases.Reverse())
        {
            QueueItem.TryParse(lease.Payload, 1024, out var item);
            using (item)
            {
                await _handle.Queue.CompleteAsync(lease, "silo-1", "b1", item!.Id, $"{{\"id\":\"{item.Id}\"}}", CancellationToken.None);
            }
        }

        var read = new List<string>();
        long after = 0;
        StoredResults page;
        while ((page = await _handle.Batches.GetResultsAsync("b1", after, 10, CancellationToken.None)).Documents.Count > 0)
        {
            read.AddRange(page.Documents);
            after = page.LastOrdinal!.Value;
        }

        Assert.Equal(ids.Select(id => $"{{\"id\":\"{id}\"}}"), read);
    }
}
