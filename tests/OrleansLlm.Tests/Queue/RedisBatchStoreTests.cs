using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Queue;

/// <summary>Batch definitions, items and results in a real Redis.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class RedisBatchStoreTests(RedisServer redis) : IAsyncLifetime
{
    private QueueHandle _handle = null!;

    public async Task InitializeAsync() =>
        _handle = await QueueHandle.ConnectAsync(redis.ConnectionString, new QueueOptions { Name = LlmClusterOptions.NewQueueName() });

    public async Task DisposeAsync() => await _handle.DisposeAsync();

    [Fact]
    public async Task Spec_IsStoredWhole_AsOneJsonValue_AndReadBackEqual_WithWhatTheScriptsReadBesideIt()
    {
        var spec = new BatchSpec(
            "Mayor of {city}?", "mayor", "qwen2:1.5b", new GenerationOptions(0.2, 7, 4096, 64, ["\n\n", "END"], 0.9), "Be brief. Réponds en français.",
            """{"type":"object","properties":{"name":{"type":"string"}}}""", Chat: false, BatchPriority.High, TimeSpan.FromMinutes(90));

        Assert.Null(await _handle.Batches.CreateAsync("whole", spec, CancellationToken.None));

        Assert.Equal(spec, await _handle.Batches.GetAsync("whole", CancellationToken.None));
        var stored = await _handle.Db.HashGetAllAsync(_handle.Keys.Batch("whole"));
        var fields = stored.ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        Assert.Equal(("high", "qwen2:1.5b", "5400000"), (fields["priority"], fields["route"], fields["window"]));
        using var json = System.Text.Json.JsonDocument.Parse(fields["spec"]);
        // Ollama's own names for its options: the stored options are the very object a request sends.
        Assert.Equal(
            """{"temperature":0.2,"seed":7,"num_ctx":4096,"num_predict":64,"stop":["\n\n","END"],"top_p":0.9}""",
            json.RootElement.GetProperty("options").GetRawText());
        Assert.Contains("Réponds", fields["spec"]);
        Assert.DoesNotContain(fields.Keys, k => k is "prompt" or "model" or "options" or "format");
    }

    [Fact]
    public async Task Create_KeepsTheFirstDefinition()
    {
        var first = new BatchSpec("Describe {city}.", "description");

        Assert.Null(await _handle.Batches.CreateAsync("b1", first, CancellationToken.None));
        Assert.Equal(first, await _handle.Batches.CreateAsync("b1", new BatchSpec("Name {city}.", null), CancellationToken.None));
        Assert.Equal(first, await _handle.Batches.GetAsync("b1", CancellationToken.None));
        Assert.Null(await _handle.Batches.GetAsync("b2", CancellationToken.None));
    }

    [Fact]
    public async Task AddItems_WrapsThemInNumberedEnvelopes_SkipsKnownIds_AndCounts()
    {
        await _handle.Batches.CreateAsync("b1", new BatchSpec(null, null), CancellationToken.None);
        var added = await _handle.Items.EnqueueAsync("b1", [new BatchItem("1", "{\"city\":\"Oslo\"}"), new BatchItem("1", "{\"city\":\"Oslo\"}")], CancellationToken.None);
        Assert.Equal(1, added);
        Assert.Equal(0, await _handle.Items.EnqueueAsync("b1", [new BatchItem("1", "{\"city\":\"Bergen\"}")], CancellationToken.None));

        var lease = (await _handle.Queue.TakeAsync("silo-1", 1)).Single();
        Assert.StartsWith("{\"olm\":{\"b\":\"b1\",\"n\":1,\"id\":\"1\"}", lease.Payload, StringComparison.Ordinal);
        // Numbers are the queue's, not the batch's: a batch's items never share one with another batch's.
        await _handle.Batches.CreateAsync("b2", new BatchSpec(null, null), CancellationToken.None);
        await _handle.Items.EnqueueAsync("b2", [new BatchItem("1", "{}")], CancellationToken.None);
        Assert.Equal("4", (string?)await _handle.Db.HashGetAsync(_handle.Keys.BatchItems("b2"), "1"));
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
    public async Task AddItems_ToAMissingOrCancelledBatch_AreRefused_AndNothingIsQueued()
    {
        var missing = await Assert.ThrowsAsync<StackExchange.Redis.RedisServerException>(
            () => _handle.Items.EnqueueAsync("nope", [new BatchItem("1", "{}")], CancellationToken.None));
        Assert.Contains("batch nope does not exist", missing.Message);

        await _handle.Batches.CreateAsync("b1", new BatchSpec(null, null), CancellationToken.None);
        await _handle.Batches.StopAsync("b1", BatchStates.Cancelled, CancellationToken.None);
        var cancelled = await Assert.ThrowsAsync<StackExchange.Redis.RedisServerException>(
            () => _handle.Items.EnqueueAsync("b1", [new BatchItem("1", "{}")], CancellationToken.None));

        Assert.Contains("batch b1 is cancelled; it takes no more items", cancelled.Message);
        Assert.Equal(0, await _handle.Db.SortedSetLengthAsync(_handle.Keys.ReadyClass(BatchPriority.Normal)));
    }

    [Fact]
    public async Task Results_ComeInSubmissionOrder_EachExactlyOnce_AcrossPages()
    {
        await _handle.Batches.CreateAsync("b1", new BatchSpec(null, null), CancellationToken.None);
        var ids = Enumerable.Range(0, 25).Select(i => $"item-{i}").ToArray();
        await _handle.Items.EnqueueAsync("b1", ids.Select(id => new BatchItem(id, "{}")).ToArray(), CancellationToken.None);
        var leases = await _handle.Queue.TakeAsync("silo-1", 25);

        // Complete them in reverse: the results still come back in submission order.
        foreach (var lease in leases.Reverse())
        {
            var id = QueueTestExtensions.ItemIdOf(lease);
            await _handle.Queue.CompleteAsync(lease, "silo-1", $"{{\"id\":\"{id}\"}}");
        }

        var read = new List<string>();
        string? cursor = null;
        StoredResults page;
        while ((page = await _handle.Batches.GetResultsAsync("b1", cursor, 10, CancellationToken.None)).Documents.Count > 0)
        {
            read.AddRange(page.Documents);
            cursor = page.Next;
        }

        Assert.Equal(ids.Select(id => $"{{\"id\":\"{id}\"}}"), read);
        await Assert.ThrowsAsync<ArgumentException>(() => _handle.Batches.GetResultsAsync("b1", "not-a-cursor", 10, CancellationToken.None));
    }
}
